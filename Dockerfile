# The lienthong image: one image, every service; the command picks which one runs
# (`lienthong serve population`, `lienthong seed`, ...). See docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Services never run as root in the container.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/lienthong lienthong

# Install from a throwaway copy of the source: the image keeps only the installed package.
COPY . /tmp/src
RUN pip install -c /tmp/src/constraints.txt /tmp/src && rm -rf /tmp/src

# var/ (databases, logs, the dev PKI under var/pki) is a volume; the directory exists, owned
# by the service user, so a fresh named volume inherits that ownership and every service can
# write its database, keys and certificates there. Certificates are made in Python
# (`lienthong certs init`, the `cryptography` package): no openssl binary is needed.
WORKDIR /app
RUN mkdir -p /app/var && chown lienthong:lienthong /app/var
USER lienthong

# The gateway (members' mTLS, citizens' server TLS), the registries, citizen-id.
EXPOSE 8443 8444 9101 9102 9103 9110 9120
ENTRYPOINT ["lienthong"]
CMD ["--help"]
