"""Signs like a wallet, with beem (a well-known Steem client from PyPI) — the tests' stand-in for Keychain.

  sign.py key WIF              -> the public key as the chain writes it (STM…)
  sign.py sign WIF MESSAGE     -> 130 hex chars: beem's compact signature of sha256(MESSAGE)
  sign.py highs HEXSIG         -> the same signature with S replaced by n - S (not canonical)
"""
import sys

from beemgraphenebase.account import PrivateKey
from beemgraphenebase.ecdsasig import sign_message
import ecdsa


def main(argv):
    if argv[1] == "key":
        print(format(PrivateKey(argv[2]).pubkey, "STM"))
    elif argv[1] == "sign":
        print(sign_message(argv[3].encode("utf-8"), argv[2]).hex())
    elif argv[1] == "highs":
        raw = bytes.fromhex(argv[2])
        n = ecdsa.SECP256k1.order
        s = int.from_bytes(raw[33:65], "big")
        recid = (raw[0] - 31) ^ 1
        print((bytes([31 + recid]) + raw[1:33] + (n - s).to_bytes(32, "big")).hex())
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
