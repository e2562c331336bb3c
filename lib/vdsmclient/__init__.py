"""vdsm-client: the command line of the Vdsm API."""
