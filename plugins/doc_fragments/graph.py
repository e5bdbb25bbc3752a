# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Authentication, endpoint and transport options shared by every Microsoft Graph module.
    DOCUMENTATION = r"""
options:
  auth_source:
    description:
      - Which credential to use for Microsoft Graph.
      - V(auto) picks, in this order, O(access_token), a client secret, a client certificate, a federated
        token file (workload identity), O(username) and O(password), managed identity (when C(IDENTITY_ENDPOINT) or
        C(MSI_ENDPOINT) is set), then the Azure CLI when C(az) is installed. It never picks V(device_code), which
        waits for a person.
      - Each option not given is read from the environment. First come azure-identity's names, then the names AWX's
        built-in C(Microsoft Azure Resource Manager) credential injects and C(azure.azcollection) reads
        (E(AZURE_TENANT), E(AZURE_SECRET), E(AZURE_AD_USER), E(AZURE_CLOUD_ENVIRONMENT)), so that credential works
        unchanged in an AWX job template. The first variable set wins; an empty one counts as unset. An option given
        in the task wins over all of them.
      - V(device_code) signs a user in with the OAuth device code flow and gives a delegated token, which the MDM user
        scope policy (M(intune.autopilot.automatic_enrollment)) requires. When a task needs the token, the controller
        shows a web address and a code at once (in the terminal, and in an AWX job's output); the user opens the
        address on any device, enters the code and signs in (MFA included), and the task goes on. It waits at most
        O(device_code_timeout) seconds and fails saying so when nobody signs in. One sign-in serves every task of the
        run with the same credential options, until its token nears expiry (about an hour).
      - V(device_code) needs O(tenant_id) and O(client_id), the application ID of a public client app registration
        ("Allow public client flows" on) with the delegated Microsoft Graph permissions the tasks need, admin
        consent granted - for the MDM user scope C(Policy.ReadWrite.MobilityManagement) (and C(Group.Read.All) to name
        groups); for the other modules as a user, C(DeviceManagementServiceConfig.ReadWrite.All),
        C(DeviceManagementConfiguration.ReadWrite.All), C(Group.ReadWrite.All). In a tenant that allows it, the
        client ID of Microsoft Graph Command Line Tools (C(14d82eec-204b-4c2f-b7e8-296a70dab67e)) can stand in for your
        own app, once an admin has consented those permissions for it.
      - V(cli) uses the Azure CLI's sign-in (C(az login)). Its Graph token is the Azure CLI's own app's
        (C(04b07795-8ddb-461a-bbee-02f9e1bf7b46)), with a fixed set of scopes that cannot be extended - no C(Policy.*)
        and no C(DeviceManagement*) scope - so it serves only the group tasks; for the MDM user scope and every Intune
        task use V(device_code) (a user) or an app credential. A user's token that lacks the scope a task needs
        fails the task before any request, naming the scope.
      - V(username_password) signs a user in with O(username) and O(password) (the OAuth password grant) and gives
        a delegated token, like V(device_code). It needs O(tenant_id) and O(client_id), a public client app
        registration with "Allow public client flows" on, and a tenant that allows the grant for that user (no MFA,
        not federated). Microsoft discourages the grant; prefer V(device_code).
      - The token is acquired on the Ansible controller, once per credential per playbook run, and passed to
        the module; the secret or certificate never leaves the controller.
    type: str
    default: auto
    choices: [auto, client_secret, certificate, managed_identity, workload_identity, cli, access_token, username_password, device_code]
  tenant_id:
    description:
      - The Microsoft Entra tenant (directory) ID or a verified domain of the tenant.
      - Falls back to the environment variable E(AZURE_TENANT_ID), then E(AZURE_TENANT).
    type: str
  client_id:
    description:
      - The application (client) ID of the app registration.
      - With O(auth_source=managed_identity), the client ID of a user-assigned identity; omit for the system-assigned one.
      - Falls back to E(AZURE_CLIENT_ID).
    type: str
  client_secret:
    description:
      - A client secret of the app registration.
      - Falls back to E(AZURE_CLIENT_SECRET), then E(AZURE_SECRET).
    type: str
  client_certificate_path:
    description:
      - Path to a PEM (certificate and private key) or PKCS12 file registered on the app.
      - Falls back to E(AZURE_CLIENT_CERTIFICATE_PATH), then E(AZURE_X509_CERTIFICATE_PATH).
    type: path
  client_certificate:
    description:
      - The PEM content (certificate and private key) instead of O(client_certificate_path), for example from a vault.
    type: str
  client_certificate_password:
    description:
      - Password of the certificate's private key, if it has one.
      - Falls back to E(AZURE_CLIENT_CERTIFICATE_PASSWORD).
    type: str
  federated_token_file:
    description:
      - Workload identity federation (AKS, GitHub, other OIDC issuers) - the file holding the federated token.
      - Falls back to E(AZURE_FEDERATED_TOKEN_FILE).
    type: path
  access_token:
    description:
      - A ready Graph access token, for example a delegated token for the MDM user scope policy, which
        Graph does not allow to app-only tokens.
      - It is used as is and cannot be refreshed. When Graph rejects it with HTTP 401 (expired, revoked, another
        audience), the module fails at once with C(token_rejected=true) and Graph's C(error_code) and C(request_id);
        the token itself is never resent nor reported.
    type: str
  username:
    description:
      - The user principal name to sign in with when O(auth_source=username_password).
      - Falls back to E(AZURE_USERNAME), then E(AZURE_AD_USER).
    type: str
  password:
    description:
      - The password of O(username).
      - Falls back to E(AZURE_PASSWORD).
    type: str
  cloud:
    description:
      - The Microsoft cloud. Sets the Graph and sign-in hosts.
      - V(public) uses C(graph.microsoft.com); V(usgov) (GCC High) C(graph.microsoft.us); V(usgov_dod)
        C(dod-graph.microsoft.us); V(china) (21Vianet) C(microsoftgraph.chinacloudapi.cn).
      - Falls back to E(AZURE_CLOUD_ENVIRONMENT), which takes these names or the Azure CLI's, as AWX's Azure
        credential and C(azure.azcollection) use them (C(AzureCloud) is V(public), C(AzureUSGovernment) V(usgov),
        C(AzureChinaCloud) V(china), in any case). The Azure CLI has no name for V(usgov_dod), so DoD tenants
        set V(usgov_dod) here or in the variable. Another value fails the task, naming this option's choices.
    type: str
    default: public
    choices: [public, usgov, usgov_dod, china]
  graph_endpoint:
    description:
      - Base URL of Microsoft Graph, overriding O(cloud), for private endpoints or the Graph lab.
      - The token is requested for the scope C(<graph_endpoint>/.default).
      - Every request carries the token, so C(@odata.nextLink) is followed only to this URL's scheme, host and
        port; a link elsewhere fails the task and nothing is sent there.
      - An C(http://) URL works but the module warns, as the token would cross the network unencrypted.
    type: str
  authority_host:
    description:
      - The Microsoft Entra sign-in host, overriding O(cloud).
      - Sign-in is always over HTTPS; an C(http://) value is used as C(https://), with a warning.
      - Falls back to E(AZURE_AUTHORITY_HOST).
    type: str
  ca_path:
    description:
      - A PEM file of CA certificates to trust for Graph and sign-in, for TLS-inspecting proxies or the Graph lab.
    type: path
  validate_certs:
    description:
      - Whether to validate TLS certificates. Only turn this off for throwaway test endpoints.
      - V(false) makes the module warn, since whoever can intercept the connection gets the token; prefer O(ca_path).
    type: bool
    default: true
  max_retry_wait:
    description:
      - How long, in seconds, one request may keep being retried after throttling (HTTP 429) and transient
        failures (502, 503, 504, timeouts, dropped connections) before the module fails saying so.
      - Measured from the request's first send on a clock that counts the time spent inside the failed sends as
        well as the waits; no retry starts that would end past it. So one request lasts at most about
        O(max_retry_wait) plus one O(request_timeout).
      - C(Retry-After) of 1 second or more is honoured; a shorter one (C(0), a past date) counts as absent, and the
        wait then grows exponentially with jitter (0.5-1, 1-2, 2-4, ... up to 32 seconds).
      - Whatever the time left, a request is sent at most 10 times.
      - From 1 to 1800. The token the controller caches is handed to a task only while it stays valid for
        O(max_retry_wait) plus O(request_timeout) plus 300 seconds.
    type: int
    default: 300
  request_timeout:
    description:
      - How long, in seconds, one HTTP exchange with Graph or the sign-in endpoint may take as a whole - connecting,
        the proxy's C(CONNECT), sending and reading the whole answer - however slowly the answer trickles in. Past it
        the exchange counts as a timeout, retried as O(max_retry_wait) says.
      - So a task's sign-in lasts at most about O(max_retry_wait) plus O(request_timeout), and so does each of its
        Graph requests. For a hard limit on a whole task, whatever the number of its requests, use Ansible's task
        keyword C(timeout).
      - One answer may hold at most 64 MiB once decoded (gzip expanded; Graph's largest pages are about 10 MB); a
        larger one fails the task, naming the cap.
      - From 1 to 600.
    type: int
    default: 60
  device_code_timeout:
    description:
      - With O(auth_source=device_code), how long, in seconds, to wait for the user to sign in with the code shown
        before the task fails saying nobody did.
      - From 30 to 900 (Microsoft Entra ID's device codes expire after 15 minutes).
    type: int
    default: 300
requirements:
  - azure-identity (on the controller, to acquire tokens)
  - certifi (its CA certificates are trusted unless O(ca_path) is given; without it, the system's)
notes:
  - Set these options once for all Graph modules with C(module_defaults) and the action group
    C(group/intune.autopilot.graph).
"""
