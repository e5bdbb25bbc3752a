"""Which Graph permissions each endpoint family needs (any one of the listed ones suffices; a
ReadWrite permission also grants the matching Read)."""

from .core import Permission


def read_write(family):
    read = Permission((f"{family}.Read.All", f"{family}.ReadWrite.All"))
    write = Permission((f"{family}.ReadWrite.All",))
    return read, write


SERVICE_CONFIG_READ, SERVICE_CONFIG_WRITE = read_write("DeviceManagementServiceConfig")
CONFIGURATION_READ, CONFIGURATION_WRITE = read_write("DeviceManagementConfiguration")
MANAGED_DEVICES_READ, MANAGED_DEVICES_WRITE = read_write("DeviceManagementManagedDevices")
GROUP_READ, GROUP_WRITE = read_write("Group")
# Listing groups and a group's members also takes GroupMember.Read.All (its least privileged permission for
# members): microsoft-graph-docs-contrib api-reference/v1.0/includes/permissions/group-list-members-permissions.md
# and group-list-permissions.md.
GROUP_READ = Permission(GROUP_READ.any_of + ("GroupMember.Read.All", "GroupMember.ReadWrite.All"))
GROUP_CREATE = Permission(("Group.ReadWrite.All", "Group.Create"))
DEVICE_READ, DEVICE_WRITE = read_write("Device")
USER_READ, USER_WRITE = read_write("User")
# The MDM user scope policy: Graph supports delegated permissions only.
MOBILITY_READ = Permission(("Policy.Read.All", "Policy.ReadWrite.MobilityManagement"), delegated_only=True)
MOBILITY_WRITE = Permission(("Policy.ReadWrite.MobilityManagement",), delegated_only=True)
