"""beem (the Python Steem library, from PyPI) against the devchain, unchanged: it must stream the
chain's transfers and read an account and its follows. Prints one JSON line for BeemTests."""
import json, sys

from beem import Steem
from beem.account import Account
from beem.blockchain import Blockchain

node, account = sys.argv[1], sys.argv[2]
steem = Steem(node=[node], nobroadcast=True, num_retries=1, num_retries_call=1, timeout=10)
chain = Blockchain(blockchain_instance=steem, mode="irreversible")
head = chain.get_current_block_num()
transfers = [{"from": op["from"], "to": op["to"], "amount": str(op["amount"]), "memo": op["memo"], "block": op["block_num"]}
             for op in chain.stream(opNames=["transfer"], start=1, stop=head, threading=False)]
acct = Account(account, blockchain_instance=steem)
following = acct.get_following(limit=100)
print(json.dumps({"chain_id": steem.chain_params["chain_id"], "head": head, "transfers": transfers,
                  "account": acct.name, "last_post": str(acct["last_post"]), "following": following}))
