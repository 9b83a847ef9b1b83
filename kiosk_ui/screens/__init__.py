"""The Kivy layer: draws the views of `kiosk_ui.viewmodels` and calls their
actions. Import only after Kivy's configuration is set (`kiosk_ui.app`)."""
