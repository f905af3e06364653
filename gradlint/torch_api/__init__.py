"""What PyTorch *is*, as tables: layers, activations, initializers, training calls.

The static path reads these names from the syntax tree; it never imports torch.
"""
