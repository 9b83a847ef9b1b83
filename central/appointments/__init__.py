"""Appointments (预约): booking a slot on the phone, check-in at a kiosk or a window."""
