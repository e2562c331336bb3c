"""Version facts vdsmd reports to the manager.

The manager decides whether it may use a host from ``clusterLevels`` and
``supportedENGINEs``; we implement the API of upstream's 4.50 line, so we
claim the levels that line claims. SOFTWARE_VERSION is this software's
version, kept in one place: ``vdsm.__version__`` (configure.ac and the
spec read it from there too).
"""

from __future__ import annotations

import vdsm

SOFTWARE_VERSION = vdsm.__version__
SOFTWARE_REVISION = "0"
VERSION_NAME = "Snow Man"
SUPPORTED_ENGINES = ["4.2", "4.3", "4.4", "4.5"]
CLUSTER_LEVELS = ["4.2", "4.3", "4.4", "4.5", "4.6", "4.7"]
