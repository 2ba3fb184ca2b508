"""LesionSegmentation: spinal cord and lesion segmentation of spinal MRI, with cord and lesion measures."""
