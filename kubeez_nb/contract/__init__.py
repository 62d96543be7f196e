"""What the Kubeez guide says, as code: the catalog, the validation rules, the cost contract.

This package is the only client-side code the emulator imports: both sides read the same facts
about the service from here. It imports nothing else of ``kubeez_nb`` but ``errors`` and
``_config``.
"""
