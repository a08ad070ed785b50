"""The providers' side of Kefu's channel tests, done by independent implementations.

WeChat's and WeCom's message crypto by wechatpy, Twilio's request signature by the twilio
library: the Rust tests never check Kefu's protocol code against Kefu's own. One JSON object a
line on stdin (a command), one JSON object a line on stdout (its answer, or {"error": ...}).
Installed into a venv by scripts/peers.sh.
"""

import base64
import json
import sys
import traceback

from wechatpy.crypto import PrpCrypto, WeChatCrypto, _get_signature
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.utils import WeChatSigner
from twilio.request_validator import RequestValidator


def key_of(aes_key):
    key = base64.b64decode(aes_key + "=")
    assert len(key) == 32
    return key


def wechat_sign(c):
    """The plain-mode `signature` of a push or URL check: sha1 of the sorted token, timestamp
    and nonce."""
    signer = WeChatSigner()
    signer.add_data(c["token"], c["timestamp"], c["nonce"])
    return {"signature": signer.signature}


def wechat_encrypt(c):
    """A safe-mode push: the XML envelope with Encrypt and MsgSignature."""
    crypto = WeChatCrypto(c["token"], c["aes_key"], c["app_id"])
    xml = crypto.encrypt_message(c["xml"], c["nonce"], c["timestamp"])
    import xmltodict

    env = xmltodict.parse(xml)["xml"]
    return {"xml": xml, "encrypt": env["Encrypt"], "msg_signature": env["MsgSignature"]}


def wechat_encrypt_text(c):
    """Any text encrypted as WeChat does (a mini-program's JSON push, an echostr), with the
    msg_signature over it."""
    encrypt = PrpCrypto(key_of(c["aes_key"])).encrypt(c["text"], c["app_id"])
    encrypt = encrypt.decode() if isinstance(encrypt, bytes) else encrypt
    return {
        "encrypt": encrypt,
        "msg_signature": _get_signature(c["token"], c["timestamp"], c["nonce"], encrypt),
    }


def wechat_decrypt(c):
    """Kefu's passive reply (an encrypted XML envelope): its MsgSignature checked over its
    TimeStamp, Nonce and Encrypt, then decrypted and its AppID checked."""
    import xmltodict

    env = xmltodict.parse(c["xml"])["xml"]
    crypto = WeChatCrypto(c["token"], c["aes_key"], c["app_id"])
    xml = crypto.decrypt_message(c["xml"], env["MsgSignature"], env["TimeStamp"], env["Nonce"])
    return {"xml": xml, "fields": xmltodict.parse(xml)["xml"]}


def wecom_encrypt(c):
    crypto = WeComCrypto(c["token"], c["aes_key"], c["corp_id"])
    xml = crypto.encrypt_message(c["xml"], c["nonce"], c["timestamp"])
    import xmltodict

    env = xmltodict.parse(xml)["xml"]
    return {"xml": xml, "encrypt": env["Encrypt"], "msg_signature": env["MsgSignature"]}


def twilio_sign(c):
    """X-Twilio-Signature of a form webhook: HMAC-SHA1 over the URL and the sorted parameters."""
    return {"signature": RequestValidator(c["auth_token"]).compute_signature(c["url"], c["params"])}


COMMANDS = {
    "wechat_sign": wechat_sign,
    "wechat_encrypt": wechat_encrypt,
    "wechat_encrypt_text": wechat_encrypt_text,
    "wechat_decrypt": wechat_decrypt,
    "wecom_encrypt": wecom_encrypt,
    "twilio_sign": twilio_sign,
}


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            c = json.loads(line)
            answer = COMMANDS[c["command"]](c)
        except Exception as e:  # the test reads the error; the peer keeps serving
            answer = {"error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
        sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
