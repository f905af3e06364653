"""Static model reconstruction: from a module's syntax tree to the Keras models it builds.

Rules ask this package for facts (which layer feeds which activation, which initializer it
uses); they never walk the syntax tree themselves.
"""
