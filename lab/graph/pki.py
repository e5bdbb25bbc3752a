"""Certificates and keys the lab generates: a CA, the HTTPS server certificate, the token-signing key
and the certificate of the certificate-auth app. Everything is reused when the data directory already
holds it, so a restarted lab keeps the CA its clients trust and the tokens they cached stay valid."""

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=825)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _builder(subject, issuer, public_key):
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + _VALIDITY))


class LabPki:
    """Loads or creates the lab's key material under data_dir."""

    def __init__(self, data_dir):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.ca_path = self.data_dir / "ca.pem"
        self.server_cert_path = self.data_dir / "server.pem"
        self.server_key_path = self.data_dir / "server-key.pem"
        self._ensure_ca()
        self._ensure_server_cert()
        self.signing_key = self._load_or_create_key(self.data_dir / "token-signing-key.pem")

    def _load_or_create_key(self, path, factory=lambda: rsa.generate_private_key(65537, 2048)):
        if path.exists():
            return serialization.load_pem_private_key(path.read_bytes(), None)
        key = factory()
        path.write_bytes(_pem_key(key))
        path.chmod(0o600)
        return key

    def _ensure_ca(self):
        ca_key_path = self.data_dir / "ca-key.pem"
        if self.ca_path.exists() and ca_key_path.exists():
            self.ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), None)
            self.ca_cert = x509.load_pem_x509_certificate(self.ca_path.read_bytes())
            return
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = _name("intune.autopilot Graph lab CA")
        self.ca_cert = (_builder(name, name, self.ca_key.public_key())
                        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                       critical=True)
                        .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()),
                                       critical=False)
                        .sign(self.ca_key, hashes.SHA256()))
        ca_key_path.write_bytes(_pem_key(self.ca_key))
        ca_key_path.chmod(0o600)
        self.ca_path.write_bytes(_pem_cert(self.ca_cert))

    def _ensure_server_cert(self):
        if self.server_cert_path.exists() and self.server_key_path.exists():
            cert = x509.load_pem_x509_certificate(self.server_cert_path.read_bytes())
            if cert.issuer == self.ca_cert.subject:
                return
        key = ec.generate_private_key(ec.SECP256R1())
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                           x509.DNSName("localhost")])
        cert = (_builder(_name("localhost"), self.ca_cert.subject, key.public_key())
                .add_extension(san, critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                               critical=False)
                .sign(self.ca_key, hashes.SHA256()))
        self.server_key_path.write_bytes(_pem_key(key))
        self.server_key_path.chmod(0o600)
        self.server_cert_path.write_bytes(_pem_cert(cert))

    def client_certificate(self, file_name, common_name):
        """Cert + key PEM (in that order, as CertificateCredential reads it) for a certificate-auth app.
        Returns (path, certificate)."""
        path = self.data_dir / file_name
        if path.exists():
            data = path.read_bytes()
            return path, x509.load_pem_x509_certificate(data)
        key = rsa.generate_private_key(65537, 2048)
        name = _name(common_name)
        cert = _builder(name, name, key.public_key()).sign(key, hashes.SHA256())
        path.write_bytes(_pem_cert(cert) + _pem_key(key))
        path.chmod(0o600)
        return path, cert
