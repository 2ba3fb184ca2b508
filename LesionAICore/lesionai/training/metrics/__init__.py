"""Validation metrics of the recipes: overlap (:mod:`.dice`) and image-level classification (:mod:`.classification`)."""
