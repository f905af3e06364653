"""What Keras *is*, as data: layer specs, activations, initializers, optimizers.

Rules and the model graph consult these tables; no Keras knowledge is written into a rule.
"""
