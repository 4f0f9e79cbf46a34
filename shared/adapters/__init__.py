"""Real adapters, named by technology, each translating its SDK's errors into `shared.errors`.

TableRunStore           RunStore      azure-data-tables
BlobInboxFiles          InboxFiles    azure-storage-blob
BlobReportStore         ReportStore   azure-storage-blob
AzureOpenAIFineTuning   FineTuning    openai (AzureOpenAI client)
AzureOpenAIChat         Chat          openai (AzureOpenAI client)
ArmDeployments          Deployments   azure-mgmt-cognitiveservices
"""
