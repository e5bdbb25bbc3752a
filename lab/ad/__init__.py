"""Samba AD domain controller lab (see samba_lab.py)."""
