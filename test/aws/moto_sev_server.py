"""moto_server with EC2's CpuOptions (AmdSevSnp) kept, for the aws_iid tests.

moto 5.2.5 ignores RunInstances' CpuOptions and DescribeInstances answers without cpuOptions. This wrapper records
the CpuOptions the test's RunInstances call asks for on the new instances, so DescribeInstances reports them as EC2
does; everything else is moto's. Usage: moto_sev_server.py PORT
"""
import sys

from moto.ec2.models.instances import Instance
from moto.ec2.responses.instances import InstanceResponse

Instance.cpu_options = None
_orig_run = InstanceResponse.run_instances


def _run_instances(self):
    cpu = self._get_param("CpuOptions", {}) or {}
    before = {i.id for r in self.ec2_backend.reservations.values() for i in r.instances}
    result = _orig_run(self)
    for r in self.ec2_backend.reservations.values():
        for i in r.instances:
            if i.id not in before and cpu:
                i.cpu_options = {k: v for k, v in cpu.items()}
    return result


InstanceResponse.run_instances = _run_instances

if __name__ == "__main__":
    from moto.server import main

    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
