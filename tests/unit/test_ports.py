"""Ports handed to test servers never repeat within one process."""

from devtools.ports import free_port, port_in_use


def test_ports_handed_out_in_a_row_all_differ() -> None:
    # A cluster takes a broker and a controller port per node before any of them listens;
    # the kernel may offer a just-closed port again, which once failed a CI run.
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    assert not any(port_in_use(port) for port in ports[-5:])
