"""Hardware ports: narrow protocols, each with a real and a simulated adapter.

Adapters are chosen from configuration by `edge.ports.factory.build_ports`;
real adapters import their hardware library only when built, so a laptop
without the ``gpio`` extra still runs every device with ``--sim``.
"""
