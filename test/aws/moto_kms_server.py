"""moto_server whose KMS Sign honours MessageType=DIGEST, for the aws_kms KeyManager tests.

moto 5.2.5's Sign ignores MessageType: it hashes the Message again even when the caller sends a digest (AWS KMS signs
the digest as given), so every signature over a digest would be over SHA-256(digest). This wrapper signs a DIGEST
message as KMS does (the digest as prehashed input, its length checked against the algorithm); RAW messages and every
other call are moto's. Two more differences from KMS are evened out here: moto answers CreateAlias, UpdateAlias and
DeleteAlias with the JSON text `null` (KMS: an empty body), and its ScheduleKeyDeletion fails on a key ARN (KeyError;
KMS takes a key id or ARN). Usage: moto_kms_server.py PORT
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from moto.core.exceptions import JsonRESTError
from moto.kms.exceptions import ValidationException
from moto.kms.models import KmsBackend
from moto.kms.responses import KmsResponse


class KMSInvalidStateException(JsonRESTError):
    code = 400

    def __init__(self, message):
        super().__init__("KMSInvalidStateException", message)


_orig_sign = KmsResponse.sign
_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


def _sign(self):
    if self._get_param("MessageType") != "DIGEST":
        return _orig_sign(self)
    algorithm = self._get_param("SigningAlgorithm")
    key = self.kms_backend.describe_key(self._get_param("KeyId"))
    if key.key_state != "Enabled":
        raise KMSInvalidStateException(f"{key.arn} is {key.key_state}")
    if key.key_usage != "SIGN_VERIFY" or algorithm not in key.signing_algorithms:
        raise ValidationException(f"SigningAlgorithm {algorithm} is not valid for key {key.arn}")
    digest = self._get_param("Message")
    hash_algorithm = _HASHES[algorithm[-3:]]()
    if len(digest) != hash_algorithm.digest_size:
        raise ValidationException("Digest is invalid length for algorithm " + algorithm)
    private_key = key.private_key.private_key
    prehashed = utils.Prehashed(hash_algorithm)
    if algorithm.startswith("ECDSA_"):
        signature = private_key.sign(digest, ec.ECDSA(prehashed))
    elif algorithm.startswith("RSASSA_PKCS1_V1_5_"):
        signature = private_key.sign(digest, padding.PKCS1v15(), prehashed)
    else:
        pss = padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size)
        signature = private_key.sign(digest, pss, prehashed)
    return json.dumps(
        {"KeyId": key.arn, "Signature": base64.b64encode(signature).decode(), "SigningAlgorithm": algorithm}
    )


KmsResponse.sign = _sign


def _empty_answer(method):
    def wrapped(self):
        answer = method(self)
        return "" if answer == "null" else answer

    return wrapped


for _name in ("create_alias", "update_alias", "delete_alias"):
    setattr(KmsResponse, _name, _empty_answer(getattr(KmsResponse, _name)))

_orig_schedule = KmsBackend.schedule_key_deletion


def _schedule_key_deletion(self, key_id, pending_window_in_days):
    return _orig_schedule(self, self.get_key_id(key_id), pending_window_in_days)


KmsBackend.schedule_key_deletion = _schedule_key_deletion

if __name__ == "__main__":
    from moto.server import main

    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
