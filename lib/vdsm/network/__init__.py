"""Host networking: Host.setupNetworks with validation, rollback and
persistence, capabilities, statistics and a netlink monitor.

Map of the package::

    model.py         the request and config model; parse_request checks
                     every field alone (codes 21-27, the field named)
    validation.py    the request against the running config and the host
    netinfo.py       what the kernel has (one ``ip -j -d addr``)
    state.py         config -> the devices the kernel should have
    planner.py       (snapshot, target) -> ordered changes
    configurator.py  one setupNetworks: lock, validate, plan, apply,
                     connectivity check, rollback, persist
    persistence.py   running.json and safe.json under
                     <lib_dir>/persistence/netconf
    sourceroute.py   a gateway without the default route: a routing
                     table and rules of its own per network
    caps.py stats.py typed capabilities and interface statistics
                     (``vdsm.api.network_wire`` maps them to the wire)
    monitor.py component.py   the netlink monitor and the component

Privilege: vdsmd reads the kernel itself and plans; every change crosses
into supervdsmd as structured data (``network.apply_changes``,
``network.set_nameservers``, ``network.start_dhcp``/``stop_dhcp`` in
vdsm/supervdsm/api/network.py), never as a command line. The changes are
in the closed vocabulary of ``vdsm.supervdsm.netchanges`` (each rendered
as one ``ip -batch`` line there, beside supervdsm's dhclient-script).
The configurator calls the declared functions through
``vdsm.supervdsm.caller`` (over the socket, or in-process for root
callers with the same checks); supervdsm imports nothing of this
package.

Network namespaces (the choice for tests): the namespace to manage is an
option threaded through the whole path, ``[network] netns`` -> the
configurator -> ``ip -n NS`` for reads and in every privileged call ->
the netlink monitor's socket made inside NS (setns in a helper thread).
vdsmd and supervdsmd themselves stay in the machine's namespace, so the
test client reaches vdsmd on 127.0.0.1 and supervdsmd on its socket as in
production; only the links of the namespace made by the test are ever
touched. Empty (the default) means vdsmd's own namespace; a non-empty
value needs root for the reads (setns), which tests have. Running the
daemons under ``ip netns exec`` works as well (netns left empty) but
would put the API port inside the namespace too.
"""
