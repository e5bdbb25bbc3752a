"""The lab's own description of the Graph types it serves, and the validation of request bodies
against it. Hand-written; tests/test_schema_matches_metadata.py compares it with Microsoft's metadata
(the shared graph-schema subset) so the two cannot drift apart.

Conventions: type names are relative to the microsoft.graph namespace, as in the metadata. A property
or enum member marked only="beta" does not exist under /v1.0. Properties whose type the lab does not
describe are read-only here (the lab cannot check a value it does not understand, so it refuses it)."""

import base64
import datetime
import re
from dataclasses import dataclass, field

BETA, V1 = "beta", "v1.0"
VERSIONS = (BETA, V1)
NAMESPACE = "microsoft.graph."


@dataclass(frozen=True)
class Prop:
    name: str
    type: str
    nullable: bool = True
    read_only: bool = False      # server-managed: refused on POST and PATCH
    required: bool = False       # must be present on POST
    create_only: bool = False    # accepted on POST, refused on PATCH
    only: str = None             # "beta" when the property is absent from /v1.0
    max_length: int = None
    value_range: tuple = None    # inclusive (low, high) for integers

    def in_version(self, version):
        return self.only in (None, version)


@dataclass
class TypeDef:
    name: str
    kind: str                    # "entity", "complex" or "enum"
    base: str = None
    abstract: bool = False
    props: list = field(default_factory=list)
    navs: tuple = ()             # navigation properties the lab serves
    beta_only_navs: tuple = ()
    members: tuple = ()          # enum members
    beta_only_members: tuple = ()
    only: str = None
    # Types absent from the shared metadata subset (seeded so clients must filter by type); the schema
    # comparison test lists them explicitly instead of checking them.
    unverified: bool = False

    def in_version(self, version):
        return self.only in (None, version)

    def enum_members(self, version):
        return [m for m in self.members if version == BETA or m not in self.beta_only_members]


SCHEMA = {}


def _add(typedef):
    SCHEMA[typedef.name] = typedef
    return typedef


def entity(name, base="entity", props=(), **kw):
    return _add(TypeDef(name, "entity", base, props=list(props), **kw))


def complex_type(name, props=(), base=None, **kw):
    return _add(TypeDef(name, "complex", base, props=list(props), **kw))


def enum(name, members, **kw):
    return _add(TypeDef(name, "enum", members=tuple(members), **kw))


S, B, I32, DT = "Edm.String", "Edm.Boolean", "Edm.Int32", "Edm.DateTimeOffset"
STRINGS = "Collection(Edm.String)"

# --- common -----------------------------------------------------------------------------------------
entity("entity", base=None, abstract=True, props=[Prop("id", S, False, read_only=True)])
entity("directoryObject", props=[Prop("deletedDateTime", DT, read_only=True)])

enum("deviceAndAppManagementAssignmentFilterType", ["none", "include", "exclude"], only=BETA)
enum("deviceAndAppManagementAssignmentSource", ["direct", "policySets"], only=BETA)
enum("deviceConfigAssignmentIntent", ["apply", "remove"], only=BETA)
complex_type("deviceAndAppManagementAssignmentTarget", abstract=True, props=[
    Prop("deviceAndAppManagementAssignmentFilterId", S, only=BETA),
    Prop("deviceAndAppManagementAssignmentFilterType", "deviceAndAppManagementAssignmentFilterType", False,
         only=BETA),
])
TARGET = "deviceAndAppManagementAssignmentTarget"
complex_type("groupAssignmentTarget", base=TARGET, props=[Prop("groupId", S, required=True)])
complex_type("exclusionGroupAssignmentTarget", base="groupAssignmentTarget")
complex_type("allDevicesAssignmentTarget", base=TARGET)
complex_type("allLicensedUsersAssignmentTarget", base=TARGET)
complex_type("configurationManagerCollectionAssignmentTarget", base=TARGET,
             props=[Prop("collectionId", S, required=True)])

# --- step 6: enrollment configurations (ESP) --------------------------------------------------------
enum("deviceEnrollmentConfigurationType", [
    "unknown", "limit", "platformRestrictions", "windowsHelloForBusiness", "defaultLimit",
    "defaultPlatformRestrictions", "defaultWindowsHelloForBusiness",
    "defaultWindows10EnrollmentCompletionPageConfiguration", "windows10EnrollmentCompletionPageConfiguration",
    "deviceComanagementAuthorityConfiguration", "singlePlatformRestriction", "unknownFutureValue",
    "enrollmentNotificationsConfiguration", "windowsRestore"], only=BETA)
entity("deviceEnrollmentConfiguration", abstract=True, navs=("assignments",), props=[
    Prop("createdDateTime", DT, False, read_only=True),
    Prop("description", S),
    Prop("deviceEnrollmentConfigurationType", "deviceEnrollmentConfigurationType", read_only=True, only=BETA),
    Prop("displayName", S, required=True),
    Prop("lastModifiedDateTime", DT, False, read_only=True),
    # Server-assigned on create; moved only by the setPriority action.
    Prop("priority", I32, False, create_only=True),
    Prop("roleScopeTagIds", STRINGS, only=BETA),
    Prop("version", I32, False, read_only=True),
])
entity("windows10EnrollmentCompletionPageConfiguration", base="deviceEnrollmentConfiguration", props=[
    Prop("allowDeviceResetOnInstallFailure", B, False, only=BETA),
    Prop("allowDeviceUseOnInstallFailure", B, False, only=BETA),
    Prop("allowLogCollectionOnInstallFailure", B, False, only=BETA),
    Prop("allowNonBlockingAppInstallation", B, False),
    Prop("blockDeviceSetupRetryByUser", B, False, only=BETA),
    Prop("customErrorMessage", S, only=BETA, max_length=10000),
    Prop("disableUserStatusTrackingAfterFirstUser", B, False, only=BETA),
    Prop("installProgressTimeoutInMinutes", I32, only=BETA, value_range=(1, 1440)),
    Prop("installQualityUpdates", B, False, only=BETA),
    Prop("selectedMobileAppIds", STRINGS, only=BETA),
    Prop("showInstallationProgress", B, False, only=BETA),
    Prop("trackInstallProgressForAutopilotOnly", B, False, only=BETA),
])
entity("deviceEnrollmentLimitConfiguration", base="deviceEnrollmentConfiguration", only=BETA, unverified=True,
       props=[Prop("limit", I32, False, value_range=(1, 15))])
complex_type("deviceEnrollmentPlatformRestriction", only=BETA, unverified=True, props=[
    Prop("platformBlocked", B, False), Prop("personalDeviceEnrollmentBlocked", B, False),
    Prop("osMinimumVersion", S), Prop("osMaximumVersion", S),
    Prop("blockedManufacturers", STRINGS), Prop("blockedSkus", STRINGS)])
entity("deviceEnrollmentPlatformRestrictionsConfiguration", base="deviceEnrollmentConfiguration", only=BETA,
       unverified=True, props=[
           Prop(name, "deviceEnrollmentPlatformRestriction") for name in (
               "androidForWorkRestriction", "androidRestriction", "iosRestriction", "macOSRestriction",
               "macRestriction", "windowsHomeSkuRestriction", "windowsMobileRestriction", "windowsRestriction")])
entity("enrollmentConfigurationAssignment", props=[
    Prop("source", "deviceAndAppManagementAssignmentSource", False, read_only=True, only=BETA),
    Prop("sourceId", S, read_only=True, only=BETA),
    Prop("target", TARGET, required=True),
])

# --- step 7: Autopilot deployment profiles ----------------------------------------------------------
enum("windowsDeviceUsageType", ["singleUser", "shared", "unknownFutureValue"])
enum("windowsUserType", ["administrator", "standard", "unknownFutureValue"])
enum("windowsAutopilotDeviceType", ["windowsPc", "holoLens", "surfaceHub2", "surfaceHub2S", "virtualMachine",
                                    "unknownFutureValue"],
     beta_only_members=("surfaceHub2", "surfaceHub2S", "virtualMachine"))
complex_type("outOfBoxExperienceSetting", props=[
    Prop("deviceUsageType", "windowsDeviceUsageType", False),
    Prop("escapeLinkHidden", B, False),
    Prop("eulaHidden", B, False),
    Prop("keyboardSelectionPageSkipped", B, False),
    Prop("privacySettingsHidden", B, False),
    Prop("userType", "windowsUserType", False),
])
complex_type("outOfBoxExperienceSettings", only=BETA, props=[
    Prop("deviceUsageType", "windowsDeviceUsageType", False),
    Prop("hideEscapeLink", B, False),
    Prop("hideEULA", B, False),
    Prop("hidePrivacySettings", B, False),
    Prop("skipKeyboardSelectionPage", B, False),
    Prop("userType", "windowsUserType", False),
])
complex_type("windowsEnrollmentStatusScreenSettings", only=BETA, props=[
    Prop("allowDeviceUseBeforeProfileAndAppInstallComplete", B, False),
    Prop("allowDeviceUseOnInstallFailure", B, False),
    Prop("allowLogCollectionOnInstallFailure", B, False),
    Prop("blockDeviceSetupRetryByUser", B, False),
    Prop("customErrorMessage", S),
    Prop("hideInstallationProgress", B, False),
    Prop("installProgressTimeoutInMinutes", I32),
])
entity("windowsAutopilotDeploymentProfile", abstract=True, navs=("assignments",), beta_only_navs=("assignments",),
       props=[
    Prop("createdDateTime", DT, False, read_only=True),
    Prop("description", S, max_length=1500),
    Prop("deviceNameTemplate", S),
    Prop("deviceType", "windowsAutopilotDeviceType", False),
    Prop("displayName", S, required=True, max_length=200),
    # The deprecated twins are read-only since May 2024; the service fills them from the new names.
    Prop("enableWhiteGlove", B, False, read_only=True, only=BETA),
    Prop("enrollmentStatusScreenSettings", "windowsEnrollmentStatusScreenSettings", only=BETA),
    Prop("extractHardwareHash", B, False, read_only=True, only=BETA),
    Prop("hardwareHashExtractionEnabled", B),
    Prop("language", S, read_only=True, only=BETA),
    Prop("lastModifiedDateTime", DT, False, read_only=True),
    Prop("locale", S),
    Prop("managementServiceAppId", S),
    Prop("outOfBoxExperienceSetting", "outOfBoxExperienceSetting"),
    Prop("outOfBoxExperienceSettings", "outOfBoxExperienceSettings", read_only=True, only=BETA),
    Prop("preprovisioningAllowed", B),
    Prop("roleScopeTagIds", STRINGS),
])
entity("activeDirectoryWindowsAutopilotDeploymentProfile", base="windowsAutopilotDeploymentProfile", only=BETA,
       props=[Prop("hybridAzureADJoinSkipConnectivityCheck", B, False)])
entity("azureADWindowsAutopilotDeploymentProfile", base="windowsAutopilotDeploymentProfile", only=BETA)
entity("windowsAutopilotDeploymentProfileAssignment", props=[
    Prop("source", "deviceAndAppManagementAssignmentSource", False, read_only=True, only=BETA),
    Prop("sourceId", S, read_only=True, only=BETA),
    Prop("target", TARGET, required=True, only=BETA),
])

# --- step 8: device configurations (domain join) ----------------------------------------------------
enum("deviceManagementApplicabilityRuleType", ["include", "exclude"], only=BETA)
enum("windows10DeviceModeType", ["standardConfiguration", "sModeConfiguration"], only=BETA)
enum("windows10EditionType", [
    "windows10Enterprise", "windows10EnterpriseN", "windows10Education", "windows10EducationN",
    "windows10MobileEnterprise", "windows10HolographicEnterprise", "windows10Professional",
    "windows10ProfessionalN", "windows10ProfessionalEducation", "windows10ProfessionalEducationN",
    "windows10ProfessionalWorkstation", "windows10ProfessionalWorkstationN", "notConfigured", "windows10Home",
    "windows10HomeChina", "windows10HomeN", "windows10HomeSingleLanguage", "windows10Mobile", "windows10IoTCore",
    "windows10IoTCoreCommercial"], only=BETA)
complex_type("deviceManagementApplicabilityRuleDeviceMode", only=BETA, props=[
    Prop("deviceMode", "windows10DeviceModeType", False), Prop("name", S),
    Prop("ruleType", "deviceManagementApplicabilityRuleType", False)])
complex_type("deviceManagementApplicabilityRuleOsEdition", only=BETA, props=[
    Prop("name", S), Prop("osEditionTypes", "Collection(windows10EditionType)", False),
    Prop("ruleType", "deviceManagementApplicabilityRuleType", False)])
complex_type("deviceManagementApplicabilityRuleOsVersion", only=BETA, props=[
    Prop("maxOSVersion", S), Prop("minOSVersion", S), Prop("name", S),
    Prop("ruleType", "deviceManagementApplicabilityRuleType", False)])
entity("deviceConfiguration", abstract=True, navs=("assignments",), props=[
    Prop("createdDateTime", DT, False, read_only=True),
    Prop("description", S),
    Prop("deviceManagementApplicabilityRuleDeviceMode", "deviceManagementApplicabilityRuleDeviceMode", only=BETA),
    Prop("deviceManagementApplicabilityRuleOsEdition", "deviceManagementApplicabilityRuleOsEdition", only=BETA),
    Prop("deviceManagementApplicabilityRuleOsVersion", "deviceManagementApplicabilityRuleOsVersion", only=BETA),
    Prop("displayName", S, False, required=True),
    Prop("lastModifiedDateTime", DT, False, read_only=True),
    Prop("roleScopeTagIds", STRINGS, only=BETA),
    Prop("supportsScopeTags", B, False, read_only=True, only=BETA),
    Prop("version", I32, False, read_only=True),
])
entity("windowsDomainJoinConfiguration", base="deviceConfiguration", only=BETA, props=[
    Prop("activeDirectoryDomainName", S, False, required=True),
    Prop("computerNameStaticPrefix", S, False, required=True),
    Prop("computerNameSuffixRandomCharCount", I32, False, required=True, value_range=(3, 14)),
    Prop("organizationalUnit", S),
])
complex_type("omaSetting", abstract=True, only=BETA, unverified=True, props=[
    Prop("description", S), Prop("displayName", S, False, required=True), Prop("isEncrypted", B, False),
    Prop("isReadOnly", B, False), Prop("omaUri", S, False, required=True), Prop("secretReferenceValueId", S)])
complex_type("omaSettingString", base="omaSetting", only=BETA, unverified=True,
             props=[Prop("value", S, False, required=True)])
complex_type("omaSettingInteger", base="omaSetting", only=BETA, unverified=True,
             props=[Prop("value", I32, False, required=True), Prop("isReadOnly", B, False)])
entity("windows10CustomConfiguration", base="deviceConfiguration", only=BETA, unverified=True,
       props=[Prop("omaSettings", "Collection(omaSetting)")])
entity("deviceConfigurationAssignment", props=[
    Prop("intent", "deviceConfigAssignmentIntent", False, only=BETA),
    Prop("source", "deviceAndAppManagementAssignmentSource", False, read_only=True, only=BETA),
    Prop("sourceId", S, read_only=True, only=BETA),
    Prop("target", TARGET, required=True),
])

# --- step 2: connectors -----------------------------------------------------------------------------
enum("deviceManagementDomainJoinConnectorState", ["active", "error", "inactive"], only=BETA)
entity("deviceManagementDomainJoinConnector", only=BETA, props=[
    Prop("displayName", S), Prop("lastConnectionDateTime", DT, False),
    Prop("state", "deviceManagementDomainJoinConnectorState", False), Prop("version", S, False)])

# --- step 1: MDM user scope -------------------------------------------------------------------------
enum("policyScope", ["none", "all", "selected", "unknownFutureValue"], only=BETA)
entity("mobilityManagementPolicy", only=BETA, navs=("includedGroups",), props=[
    Prop("appliesTo", "policyScope"), Prop("complianceUrl", S), Prop("description", S, read_only=True),
    Prop("discoveryUrl", S), Prop("displayName", S, read_only=True), Prop("isValid", B, read_only=True),
    Prop("termsOfUseUrl", S)])

# --- step 5: groups ---------------------------------------------------------------------------------
_GROUP_READ_ONLY = (
    ("accessType", "groupAccessType"), ("assignedLabels", "Collection(assignedLabel)"),
    ("assignedLicenses", "Collection(assignedLicense)"), ("createdDateTime", DT), ("expirationDateTime", DT),
    ("hasMembersWithLicenseErrors", B), ("isArchived", B), ("isFavorite", B), ("isManagementRestricted", B),
    ("isSubscribedByMail", B), ("licenseProcessingState", "licenseProcessingState"), ("mail", S),
    ("onPremisesDomainName", S), ("onPremisesExtensionAttributes", "onPremisesExtensionAttributes"),
    ("onPremisesLastSyncDateTime", DT), ("onPremisesNetBiosName", S),
    ("onPremisesProvisioningErrors", "Collection(onPremisesProvisioningError)"),
    ("onPremisesSamAccountName", S), ("onPremisesSecurityIdentifier", S), ("onPremisesSyncEnabled", B),
    ("organizationId", S), ("renewedDateTime", DT), ("securityIdentifier", S),
    ("serviceProvisioningErrors", "Collection(serviceProvisioningError)"), ("uniqueName", S),
    ("unseenConversationsCount", I32), ("unseenCount", I32), ("unseenMessagesCount", I32),
)
_GROUP_WRITABLE = (
    ("allowExternalSenders", B), ("autoSubscribeNewMembers", B), ("classification", S), ("description", S),
    ("hideFromAddressLists", B), ("hideFromOutlookClients", B), ("preferredDataLocation", S),
    ("preferredLanguage", S), ("theme", S), ("visibility", S), ("welcomeMessageEnabled", B),
)
entity("group", base="directoryObject", navs=("members", "owners"), props=[
    *(Prop(n, t, read_only=True) for n, t in _GROUP_READ_ONLY),
    *(Prop(n, t) for n, t in _GROUP_WRITABLE),
    Prop("cloudLicensing", "groupCloudLicensing", read_only=True, only=BETA),
    Prop("createdByAppId", S, read_only=True, only=BETA),
    Prop("displayName", S, required=True, max_length=256),
    Prop("groupTypes", STRINGS, False),
    Prop("infoCatalogs", STRINGS, False),
    Prop("isAssignableToRole", B, create_only=True),
    Prop("mailEnabled", B, required=True),
    Prop("mailNickname", S, required=True, max_length=64),
    Prop("membershipRule", S, max_length=3072),
    Prop("membershipRuleProcessingState", S),
    Prop("membershipRuleProcessingStatus", "membershipRuleProcessingStatus", read_only=True, only=BETA),
    Prop("proxyAddresses", STRINGS, False, read_only=True),
    Prop("resourceBehaviorOptions", STRINGS, False, create_only=True),
    Prop("resourceProvisioningOptions", STRINGS, False, create_only=True),
    Prop("securityEnabled", B, required=True),
    Prop("writebackConfiguration", "groupWritebackConfiguration", read_only=True, only=BETA),
])

# --- step 4: the Autopilot device pipeline (import, sync, device identities) ------------------------
BIN, DUR = "Edm.Binary", "Edm.Duration"
enum("importedWindowsAutopilotDeviceIdentityImportStatus", ["unknown", "pending", "partial", "complete", "error"])
complex_type("importedWindowsAutopilotDeviceIdentityState", props=[
    Prop("deviceErrorCode", I32, False),
    Prop("deviceErrorName", S),
    Prop("deviceImportStatus", "importedWindowsAutopilotDeviceIdentityImportStatus", False),
    Prop("deviceRegistrationId", S),
])
entity("importedWindowsAutopilotDeviceIdentity", props=[
    Prop("assignedUserPrincipalName", S),
    Prop("groupTag", S),
    Prop("hardwareIdentifier", BIN, required=True),
    Prop("importId", S),
    Prop("productKey", S),
    Prop("serialNumber", S, required=True),
    # Accepted and ignored on POST (community scripts send a dummy one); the service owns it.
    Prop("state", "importedWindowsAutopilotDeviceIdentityState"),
])
enum("enrollmentState", ["unknown", "enrolled", "pendingReset", "failed", "notContacted", "blocked"],
     beta_only_members=("blocked",))
enum("windowsAutopilotProfileAssignmentStatus", [
    "unknown", "assignedInSync", "assignedOutOfSync", "assignedUnkownSyncState", "notAssigned", "pending",
    "failed"], only=BETA)
enum("windowsAutopilotProfileAssignmentDetailedStatus", [
    "none", "hardwareRequirementsNotMet", "surfaceHubProfileNotSupported", "holoLensProfileNotSupported",
    "windowsPcProfileNotSupported", "surfaceHub2SProfileNotSupported", "unknownFutureValue"], only=BETA)
enum("windowsAutopilotDeviceRemediationState", [
    "unknown", "noRemediationRequired", "automaticRemediationRequired", "manualRemediationRequired",
    "unknownFutureValue"], only=BETA)
enum("windowsAutopilotUserlessEnrollmentStatus", ["unknown", "allowed", "blocked", "unknownFutureValue"],
     only=BETA)
# No PATCH in Graph: every property is changed by an action or by the service.
entity("windowsAutopilotDeviceIdentity", navs=("deploymentProfile", "intendedDeploymentProfile"),
       beta_only_navs=("deploymentProfile", "intendedDeploymentProfile"), props=[
    Prop(name, type_name, nullable, read_only=True, only=only) for name, type_name, nullable, only in (
        ("addressableUserName", S, True, None), ("azureActiveDirectoryDeviceId", S, True, None),
        ("azureAdDeviceId", S, True, BETA), ("deploymentProfileAssignedDateTime", DT, False, BETA),
        ("deploymentProfileAssignmentDetailedStatus", "windowsAutopilotProfileAssignmentDetailedStatus", False,
         BETA),
        ("deploymentProfileAssignmentStatus", "windowsAutopilotProfileAssignmentStatus", False, BETA),
        ("deviceAccountPassword", S, True, BETA), ("deviceAccountUpn", S, True, BETA),
        ("deviceFriendlyName", S, True, BETA), ("displayName", S, True, None),
        ("enrollmentState", "enrollmentState", False, None), ("groupTag", S, True, None),
        ("lastContactedDateTime", DT, False, None), ("managedDeviceId", S, True, None),
        ("manufacturer", S, True, None), ("model", S, True, None), ("productKey", S, True, None),
        ("purchaseOrderIdentifier", S, True, None),
        ("remediationState", "windowsAutopilotDeviceRemediationState", True, BETA),
        ("remediationStateLastModifiedDateTime", DT, True, BETA), ("resourceName", S, True, None),
        ("serialNumber", S, True, None), ("skuNumber", S, True, None), ("systemFamily", S, True, None),
        ("userlessEnrollmentStatus", "windowsAutopilotUserlessEnrollmentStatus", True, BETA),
        ("userPrincipalName", S, True, None))])
enum("windowsAutopilotSyncStatus", ["unknown", "inProgress", "completed", "failed"], only=BETA)
entity("windowsAutopilotSettings", only=BETA, props=[
    Prop("lastManualSyncTriggerDateTime", DT, False, read_only=True),
    Prop("lastSyncDateTime", DT, False, read_only=True),
    Prop("syncStatus", "windowsAutopilotSyncStatus", False, read_only=True),
])

# --- step 10: verification (events, managed devices) -------------------------------------------------
enum("windowsAutopilotDeploymentState", ["unknown", "success", "inProgress", "failure", "successWithTimeout",
                                         "notAttempted", "disabled", "successOnRetry"], only=BETA)
enum("windowsAutopilotEnrollmentType", [
    "unknown", "azureADJoinedWithAutopilotProfile", "offlineDomainJoined",
    "azureADJoinedUsingDeviceAuthWithAutopilotProfile", "azureADJoinedUsingDeviceAuthWithoutAutopilotProfile",
    "azureADJoinedWithOfflineAutopilotProfile", "azureADJoinedWithWhiteGlove", "offlineDomainJoinedWithWhiteGlove",
    "offlineDomainJoinedWithOfflineAutopilotProfile"], only=BETA)
_EVENT_STATE = "windowsAutopilotDeploymentState"
entity("deviceManagementAutopilotEvent", only=BETA, props=[
    Prop(name, type_name, nullable, read_only=True) for name, type_name, nullable in (
        ("accountSetupDuration", DUR, False), ("accountSetupStatus", _EVENT_STATE, False),
        ("deploymentDuration", DUR, False), ("deploymentEndDateTime", DT, False),
        ("deploymentStartDateTime", DT, False), ("deploymentState", _EVENT_STATE, False),
        ("deploymentTotalDuration", DUR, False), ("deviceId", S, True), ("deviceRegisteredDateTime", DT, False),
        ("deviceSerialNumber", S, True), ("deviceSetupDuration", DUR, False),
        ("deviceSetupStatus", _EVENT_STATE, False), ("enrollmentFailureDetails", S, True),
        ("enrollmentStartDateTime", DT, False), ("enrollmentState", "enrollmentState", False),
        ("enrollmentType", "windowsAutopilotEnrollmentType", False), ("eventDateTime", DT, False),
        ("managedDeviceName", S, True), ("osVersion", S, True), ("userId", S, True),
        ("userPrincipalName", S, True), ("windows10EnrollmentCompletionPageConfigurationDisplayName", S, True),
        ("windows10EnrollmentCompletionPageConfigurationId", S, True),
        ("windowsAutopilotDeploymentProfileDisplayName", S, True))])
# Not in the metadata subset: only the properties the pipeline and the verification step read.
entity("managedDevice", unverified=True, props=[
    Prop(name, type_name, read_only=True, only=only) for name, type_name, only in (
        ("autopilotEnrolled", B, None), ("azureADDeviceId", S, None), ("complianceState", S, None),
        ("deviceName", S, None), ("enrolledDateTime", DT, None), ("enrollmentProfileName", S, None),
        ("joinType", S, BETA), ("lastSyncDateTime", DT, None), ("managedDeviceOwnerType", S, None),
        ("manufacturer", S, None), ("model", S, None), ("operatingSystem", S, None), ("osVersion", S, None),
        ("serialNumber", S, None), ("userPrincipalName", S, None))])

# --- Entra devices and users (verification; dynamic groups read devices' physicalIds) ----------------
# The membership rule attribute is device.devicePhysicalIds; the Graph property is physicalIds.
entity("device", base="directoryObject", props=[
    Prop(name, type_name, nullable, read_only=True, only=only) for name, type_name, nullable, only in (
        ("accountEnabled", B, True, None), ("alternativeNames", STRINGS, True, BETA),
        ("alternativeSecurityIds", "Collection(alternativeSecurityId)", False, None),
        ("approximateLastSignInDateTime", DT, True, None), ("complianceExpirationDateTime", DT, True, None),
        ("deviceCategory", S, True, None), ("deviceId", S, True, None), ("deviceMetadata", S, True, None),
        ("deviceOwnership", S, True, None), ("deviceVersion", I32, True, None), ("displayName", S, True, None),
        ("domainName", S, True, BETA), ("enrollmentProfileName", S, True, None), ("enrollmentType", S, True, None),
        ("extensionAttributes", "onPremisesExtensionAttributes", True, BETA), ("hostnames", STRINGS, True, BETA),
        ("isCompliant", B, True, None), ("isManaged", B, True, None), ("isManagementRestricted", B, True, None),
        ("isRooted", B, True, None), ("kind", S, True, BETA), ("managementType", S, True, None),
        ("manufacturer", S, True, None), ("mdmAppId", S, True, None), ("model", S, True, None),
        ("name", S, True, BETA), ("onPremisesLastSyncDateTime", DT, True, None),
        ("onPremisesSecurityIdentifier", S, True, None), ("onPremisesSyncEnabled", B, True, None),
        ("operatingSystem", S, True, None), ("operatingSystemVersion", S, True, None),
        ("physicalIds", STRINGS, False, None), ("platform", S, True, BETA), ("profileType", S, True, None),
        ("registrationDateTime", DT, True, None), ("status", S, True, BETA), ("systemLabels", STRINGS, False, None),
        ("trustType", S, True, None))])
entity("user", base="directoryObject", unverified=True, props=[
    Prop(name, type_name, read_only=True) for name, type_name in (
        ("accountEnabled", B), ("displayName", S), ("givenName", S), ("mail", S), ("surname", S),
        ("userPrincipalName", S))])


# === lookups =========================================================================================

def short_name(odata_type):
    """'#microsoft.graph.x' / 'microsoft.graph.x' / 'x' -> 'x'."""
    name = odata_type[1:] if odata_type.startswith("#") else odata_type
    return name[len(NAMESPACE):] if name.startswith(NAMESPACE) else name


def odata_type(name):
    return "#" + NAMESPACE + name


def lineage(name):
    """The type and its base types, most derived first."""
    out = []
    while name:
        out.append(name)
        name = SCHEMA[name].base
    return out


def is_derived(name, base):
    return name in SCHEMA and base in lineage(name)


def properties(name, version):
    """All properties of a type (inherited ones included) that exist in version, by name."""
    props = {}
    for type_name in reversed(lineage(name)):
        for prop in SCHEMA[type_name].props:
            if prop.in_version(version):
                props[prop.name] = prop
    return props


def collection_item(type_name):
    match = re.fullmatch(r"Collection\((.+)\)", type_name)
    return match.group(1) if match else None


# === validation ======================================================================================

class ValidationError(Exception):
    """A request body Graph would refuse; the message follows Graph's (OData) wording."""


_INT32 = (-2**31, 2**31 - 1)
_DURATION = re.compile(r"-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")


def _check_primitive(edm, value, path):
    bad = ValidationError(f"Cannot convert the literal '{value}' to the expected type '{edm}'.")
    if edm == "Edm.String" or edm == "Edm.Guid":
        if not isinstance(value, str):
            raise ValidationError(f"Cannot convert a primitive value to the expected type '{edm}' "
                                  f"for property '{path}'.")
        if edm == "Edm.Guid" and not re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", value):
            raise bad
    elif edm == "Edm.Boolean":
        if not isinstance(value, bool):
            raise ValidationError(f"Cannot convert a primitive value to the expected type 'Edm.Boolean' "
                                  f"for property '{path}'.")
    elif edm in ("Edm.Int32", "Edm.Int64"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        if edm == "Edm.Int32" and not _INT32[0] <= value <= _INT32[1]:
            raise bad
    elif edm == "Edm.DateTimeOffset":
        try:
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except (AttributeError, ValueError):
            raise bad from None
    elif edm == "Edm.Binary":
        try:
            base64.b64decode(value, validate=True)
        except (TypeError, ValueError):
            raise bad from None
    elif edm == "Edm.Duration":
        if not isinstance(value, str) or not _DURATION.fullmatch(value):
            raise bad
    else:
        raise ValidationError(f"Type '{edm}' is not supported by the lab.")


def resolve_odata_type(value, expected_base, path):
    """Resolve an '@odata.type' annotation to a concrete type derived from expected_base."""
    if not isinstance(value, str):
        raise ValidationError(f"The value of the '@odata.type' annotation at '{path}' must be a string.")
    name = short_name(value)
    if name not in SCHEMA:
        raise ValidationError(f"A type named '{value.lstrip('#')}' could not be resolved by the model. When a "
                              "model is available, each type name must resolve to a valid type.")
    if not is_derived(name, expected_base):
        raise ValidationError(f"A type named '{NAMESPACE}{name}' was found where the type "
                              f"'{NAMESPACE}{expected_base}' was expected; it is not derived from it.")
    if SCHEMA[name].abstract:
        raise ValidationError(f"The type '{NAMESPACE}{name}' is abstract and cannot be instantiated.")
    return name


def _check_value(type_name, value, prop, version, path):
    if value is None:
        if prop is not None and not prop.nullable:
            raise ValidationError(f"A null value was found for the property named '{path}', which has the "
                                  f"expected type '{type_name}[Nullable=False]'. The expected type does not "
                                  "allow null values.")
        return
    item_type = collection_item(type_name)
    if item_type:
        if not isinstance(value, list):
            raise ValidationError(f"A value for the collection property '{path}' must be a JSON array.")
        for index, item in enumerate(value):
            if item is None:
                raise ValidationError(f"A null value was found in the collection '{path}'; items of "
                                      f"'{type_name}' do not allow null values.")
            _check_value(item_type, item, None, version, f"{path}[{index}]")
        return
    if type_name.startswith("Edm."):
        _check_primitive(type_name, value, path)
        if prop is not None and prop.max_length is not None and len(value) > prop.max_length:
            raise ValidationError(f"The value of '{path}' is longer than the maximum of {prop.max_length} "
                                  "characters.")
        if prop is not None and prop.value_range is not None:
            low, high = prop.value_range
            if not low <= value <= high:
                raise ValidationError(f"The value {value} of '{path}' is out of range; valid values are "
                                      f"{low} to {high}.")
        return
    typedef = SCHEMA.get(type_name)
    if typedef is None or not typedef.in_version(version):
        raise ValidationError(f"The property '{path}' cannot be set: its type '{type_name}' is not writable "
                              "here.")
    if typedef.kind == "enum":
        if not isinstance(value, str) or value not in typedef.enum_members(version):
            raise ValidationError(f"The value '{value}' is not valid for the enum type "
                                  f"'{NAMESPACE}{type_name}' (property '{path}').")
        return
    if not isinstance(value, dict):
        raise ValidationError(f"A value for the complex property '{path}' must be a JSON object.")
    validate_object(value, type_name, version, creating=True, path=path)


def validate_object(body, type_name, version, *, creating, path=""):
    """Check a request body (entity or nested complex value) of the declared type_name.

    For an abstract declared type the body must name a concrete derived type in '@odata.type'; a
    concrete type may be restated there. Returns the concrete type name."""
    if not isinstance(body, dict):
        raise ValidationError("The request body must be a JSON object.")
    declared = SCHEMA[type_name]
    concrete = type_name
    if "@odata.type" in body:
        concrete = resolve_odata_type(body["@odata.type"], type_name, path or "body")
    elif declared.abstract:
        raise ValidationError(f"An '@odata.type' annotation is required at '{path or 'body'}': the type "
                              f"'{NAMESPACE}{type_name}' is abstract.")
    if not SCHEMA[concrete].in_version(version):
        raise ValidationError(f"A type named '{NAMESPACE}{concrete}' could not be resolved by the model.")
    props = properties(concrete, version)
    for key, value in body.items():
        where = f"{path}.{key}" if path else key
        if key == "@odata.type":
            continue
        if key.startswith("@") or "@" in key:
            raise ValidationError(f"The annotation '{key}' is not supported here.")
        prop = props.get(key)
        if prop is None:
            raise ValidationError(f"The property '{key}' does not exist on type '{NAMESPACE}{concrete}'. Make "
                                  "sure to only use property names that are defined by the type or mark the "
                                  "type as open type.")
        if prop.read_only:
            raise ValidationError(f"The property '{where}' is read-only and cannot be set.")
        if prop.create_only and not creating:
            raise ValidationError(f"The property '{where}' cannot be changed after the object is created.")
        _check_value(prop.type, value, prop, version, where)
    if creating:
        missing = [p.name for p in props.values() if p.required and p.name not in body]
        if missing:
            raise ValidationError(f"The required property '{missing[0]}' is missing on type "
                                  f"'{NAMESPACE}{concrete}'" + (f" at '{path}'." if path else "."))
    return concrete


def project(obj, type_name, version):
    """Drop the properties that do not exist in version (for /v1.0 views of shared objects)."""
    if version == BETA:
        return obj
    props = properties(type_name, version)
    return {k: v for k, v in obj.items() if k in props or k.startswith("@")}
