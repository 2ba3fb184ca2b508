"""Each LesionAI module's generated sample case in Slicer's Sample Data module (category "LesionAI").

The samples are phantoms generated on the user's machine (no download, no patient data): the
Sample Data button calls the module logic's ``sample_nodes(scene)``. From the Python console use
that method directly (``SampleData.downloadSample`` only fetches files, it does not generate).
"""

import logging

import slicer

CATEGORY = "LesionAI"


def registerSampleData(sampleName, addSample, thumbnailFileName):
    """Add the button ``sampleName`` to Sample Data; pressing it calls ``addSample(scene) -> nodes``,
    shows the first node (a volume) and returns the nodes. Registering again does nothing."""
    try:
        import SampleData
    except ImportError:  # an application built without the Sample Data module
        logging.info(f"Sample Data module not available; '{sampleName}' not registered")
        return
    sources = SampleData.SampleDataLogic.sampleDataSourcesByCategory(CATEGORY)
    if any(source.sampleName == sampleName for source in sources):
        return
    SampleData.SampleDataLogic.registerCustomSampleDataSource(
        category=CATEGORY, sampleName=sampleName, uris=[], fileNames=[], loadFileType=[],
        thumbnailFileName=thumbnailFileName, customDownloader=lambda source: addSampleNodes(sampleName, addSample))


def addSampleNodes(sampleName, addSample):
    """Generate the sample into the application's scene and show it; returns the nodes added."""
    with slicer.util.tryWithErrorDisplay(f"Could not generate the sample '{sampleName}'.", waitCursor=True):
        nodes = addSample(slicer.mrmlScene)
        slicer.util.setSliceViewerLayers(background=nodes[0], fit=True)
        return nodes
    return []
