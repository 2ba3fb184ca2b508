"""Random augmentation for training: :mod:`.planar` for 2-D radiograph batches (torch tensors),
:mod:`.volume` for 3-D MRI/CT patches (numpy arrays, one ``numpy.random.Generator``)."""
