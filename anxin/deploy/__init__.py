"""Deployment helpers run by `anxin deploy` (and by the Ansible roles in ``ansible/``).

- `inventory`: the hall inventory (hub, broker, every device) as an Ansible
  YAML inventory, exported from and imported into the device registry.
- `secrets`: the hall's secrets on the controller (hall secret, keys, the hall
  CA and every certificate, derived MQTT passwords) and the Mosquitto files
  rendered for the broker host by `broker.mosquitto`.

Nothing here imports Ansible: the hub runs `anxin deploy inventory-import`
without it, and the wheel check imports every module.
"""
