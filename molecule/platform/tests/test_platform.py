"""The test platform itself: what every later scenario relies on."""

BIND = (
    "import socket, sys; s = socket.socket(); "
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
    "s.bind(('127.0.0.1', int(sys.argv[1]))); print('bound')"
)


def bind_as(host, user, port):
    return host.run(f'runuser -u {user} -- python3 -c "{BIND}" {port}')


def test_systemd_is_pid_1_and_running(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running --wait")
    print(f"\nsystem state: {state.stdout.strip()}")
    assert state.stdout.strip() == "running", host.run("systemctl --failed --no-legend").stdout


def test_unprivileged_port_start_is_the_kernel_default(host):
    assert host.file("/proc/sys/net/ipv4/ip_unprivileged_port_start").content_string.strip() == "1024"


def test_non_root_cannot_bind_port_80(host):
    result = bind_as(host, "porttest", 80)
    assert result.rc != 0
    assert "PermissionError" in result.stderr


def test_non_root_can_bind_a_high_port(host):
    # The control for the test above: the same command fails only because of the port.
    result = bind_as(host, "porttest", 8080)
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "bound"


def test_root_can_bind_port_80(host):
    result = host.run(f'python3 -c "{BIND}" 80')
    assert result.rc == 0, result.stderr
