# Shared by the tributary and tributary-agent maintainer scripts (installed as
# /usr/lib/tributary/debian-common.sh by both packages, identical).

# The system user both services run as; its home is the state directory.
tributary_user() {
    if ! getent group tributary >/dev/null; then
        groupadd --system tributary
    fi
    if ! getent passwd tributary >/dev/null; then
        useradd --system --gid tributary --home-dir /var/lib/tributary --no-create-home \
            --shell /usr/sbin/nologin --comment "Tributary" tributary
    fi
}

# /var/lib/tributary: buffers, keys, credentials, streams; the service's alone.
tributary_state_dir() {
    if [ ! -d /var/lib/tributary ]; then
        install -d -o tributary -g tributary -m 0700 /var/lib/tributary
    fi
}
