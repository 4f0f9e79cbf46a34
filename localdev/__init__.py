"""Dev-only tools that run Tunedrop on this machine: Azurite, the Azure OpenAI/ARM emulator and a
local Functions host. Never deployed (see `.funcignore`)."""
