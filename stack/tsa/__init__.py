"""The local RFC 3161 time-stamping authority: it timestamps the evidence log's checkpoints.

A development TSA for the local stack, signing with the time-stamping certificate of the
dev PKI (``tsa/tsa.crt``). Its tokens verify with stock ``openssl ts -verify``.
"""
