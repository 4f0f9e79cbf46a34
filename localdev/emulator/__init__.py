"""An Azure OpenAI (data plane) and ARM (deployments) emulator the real clients talk to.

with running_emulator(timings=Timings.fast()) as emu:
    client = openai.AzureOpenAI(azure_endpoint=emu.url, api_key=emu.api_key,
                                api_version="2024-10-21")
    arm = CognitiveServicesManagementClient(credential, emu.subscription_id,
                                            base_url=emu.arm_url,
                                            connection_verify=str(emu.ca_cert_path))
"""

from localdev.emulator.emulator import Emulator, running_emulator
from localdev.emulator.faults import Fault
from localdev.emulator.requestlog import RequestRecord
from localdev.emulator.timings import Timings

__all__ = ["Emulator", "Fault", "RequestRecord", "Timings", "running_emulator"]
