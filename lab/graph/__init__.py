"""A stateful emulator of the Microsoft Graph endpoints intune.autopilot uses (see README.md)."""
