"""The parts of the ``nstore`` command; :mod:`nstore.cli` builds the parser from them."""
