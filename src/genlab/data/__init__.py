"""Dataset sources (MNIST family, CIFAR-10, image folders), preparation and in-memory batches."""
