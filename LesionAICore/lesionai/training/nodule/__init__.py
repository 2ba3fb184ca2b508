"""Training recipes of NoduleFusion: nodule segmentation and cross-scanner normalisation."""
