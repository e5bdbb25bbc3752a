# -*- coding: utf-8 -*-
# Copyright: contributors to the intune.autopilot collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The HTTP transport of the sign-in (azure-identity through azure-core's requests transport), with each exchange
bounded as a whole, as Graph's are (http_client.py).

azure-core hands requests a connect and a read timeout, and urllib3 applies the read timeout to each socket read: a
token endpoint (or a proxy) that trickles one byte every few seconds kept a sign-in alive however long its answer
took. Here every urllib3 connection reads its answers (and a proxy's answer to CONNECT) through an ExchangeDeadline
that starts when the exchange does, so the whole exchange ends within `timeout` seconds, or fails as a timeout, which
acquire_token retries within max_retry_wait like any other. Imported only by auth_sign_in.build_credential, which already
imports azure-identity (and so requests).
"""

from __future__ import annotations

from ansible_collections.intune.autopilot.plugins.module_utils._graph.http_client import ExchangeDeadline


def bounded_transport(timeout, verify=None):
    """An azure-core RequestsTransport whose every exchange ends within `timeout` seconds (see the module's
    docstring); verify: azure-core's connection_verify (a CA file, False, or None for certifi's)."""
    # pylint: disable=import-outside-toplevel
    import requests
    from azure.core.pipeline.transport import RequestsTransport
    from requests.adapters import HTTPAdapter
    from urllib3 import connection, connectionpool
    from urllib3.util.retry import Retry

    def bounded(base):
        class BoundedConnection(base):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self._exchange = ExchangeDeadline(timeout)
                self.response_class = self._exchange.response_class
                self._started_by_connect = False

            def connect(self):
                # urllib3 connects (and tunnels through a proxy) before it sends: the exchange starts here then.
                self._exchange.start()
                self._started_by_connect = True
                super().connect()

            def request(self, *args, **kwargs):
                if not self._started_by_connect:
                    self._exchange.start()
                self._started_by_connect = False
                return super().request(*args, **kwargs)

        return BoundedConnection

    class BoundedPool(connectionpool.HTTPConnectionPool):
        ConnectionCls = bounded(connection.HTTPConnection)

    class BoundedTLSPool(connectionpool.HTTPSConnectionPool):
        ConnectionCls = bounded(connection.HTTPSConnection)

    pools = {"http": BoundedPool, "https": BoundedTLSPool}

    class BoundedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            manager.pool_classes_by_scheme = pools
            return manager

    session = requests.Session()
    # As azure-core sets up a session of its own: no retries nor redirects in urllib3 (acquire_token retries).
    adapter = BoundedAdapter(max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    settings = dict(session=session, connection_timeout=timeout, read_timeout=timeout)
    if verify is not None:
        settings["connection_verify"] = verify
    return RequestsTransport(**settings)
