"""NoduleFusion (Lung-PNetV2): a nodule on chest CT -> region, mask, ground-glass/solid components,
published features, cross-scanner normalisation and image/tabular/fusion classification.

The shipped classification task is the LIDC proxy: radiologists' malignancy suspicion >= 4 versus
<= 2. It is not invasiveness and not pathology.
"""
