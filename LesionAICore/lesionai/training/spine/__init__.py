"""Training recipes of LesionSegmentation: scan check, spinal cord U-Net and lesion attention U-Net."""
