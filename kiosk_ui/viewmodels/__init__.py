"""The kiosk's logic in plain Python (no Kivy): what each screen shows, what
each touch does, timeouts, hours, identity masking and the ticket flow with
its paper-out fallback. The Kivy layer (`kiosk_ui.screens`) only draws the
views built here and calls their actions."""
