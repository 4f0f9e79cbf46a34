// Tunedrop on Azure: `azd up` deploys this at subscription scope. Every resource is a plain
// `resource` block in ./modules, so offline checks (pycep-parser, checkov) can read all of it.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names the resource group and seeds resource names.')
param environmentName string

@minLength(1)
@description('Region of every resource except, if set, Azure OpenAI.')
param location string

@description('Region of the Azure OpenAI account: one where fine-tuning your base model is offered.')
param openAiLocation string = location

@description('NCRONTAB schedule (UTC) of the timer that advances runs.')
param runTimerSchedule string = '0,30 * * * * *'

@description('NCRONTAB schedule (UTC) of the timer that hands run events to the delivery queue; at the same seconds as the run timer, so that one instance wake-up serves both.')
param eventsTimerSchedule string = '0,30 * * * * *'

@description('Memory of each Function App instance; 512 keeps the idle timer within the free grant (README, cost at rest).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Base model runs fine-tune when run.json names none.')
param defaultModel string = 'gpt-4o-mini-2024-07-18'

@description('Deploy the base model too, for side-by-side chat with a tuned model.')
param deployBaseModel bool = true

@description('Deploy a model for the evaluation grader (EVAL_GRADER_DEPLOYMENT; optional).')
param deployGraderModel bool = false

@description('Base model to deploy for comparisons (and as the evaluation grader).')
param baseModelName string = 'gpt-4o-mini'

@description('Version of the base model to deploy.')
param baseModelVersion string = '2024-07-18'

@description('Capacity of each base model deployment, in thousands of tokens per minute.')
param baseModelCapacity int = 10

@description('Model of the evaluation grader deployment (default: the base model).')
param graderModelName string = baseModelName

@description('Version of the grader model.')
param graderModelVersion string = baseModelVersion

@description('Name of an existing Azure OpenAI account to use instead of creating one.')
param existingOpenAiName string = ''

@description('Resource group of that existing account (default: the new resource group).')
param existingOpenAiResourceGroup string = ''

@description('A deployment of the base model in that existing account, for side-by-side chat (optional).')
param existingOpenAiBaseDeployment string = ''

@description('A deployment in that existing account to grade evaluations with (optional).')
param existingOpenAiGraderDeployment string = ''

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))
var useExistingOpenAi = !empty(existingOpenAiName)
var openAiGroupName = empty(existingOpenAiResourceGroup) ? resourceGroupName : existingOpenAiResourceGroup
var openAiName = useExistingOpenAi ? existingOpenAiName : 'oai-${token}'
var resourceGroupName = 'rg-${environmentName}'
var inboxContainer = 'training-inbox'
var reportsContainer = 'training-reports'
var runsTable = 'TunedropRuns'
var eventsQueue = 'tunedrop-events'
var newBaseDeployment = deployBaseModel ? baseModelName : ''
var baseDeploymentName = useExistingOpenAi ? existingOpenAiBaseDeployment : newBaseDeployment
var newGraderDeployment = deployGraderModel ? '${graderModelName}-grader' : ''
var graderDeploymentName = useExistingOpenAi ? existingOpenAiGraderDeployment : newGraderDeployment

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: resourceGroupName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${token}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${token}'
    location: location
    tags: tags
    inboxContainer: inboxContainer
    reportsContainer: reportsContainer
    runsTable: runsTable
    eventsQueue: eventsQueue
    deploymentContainer: 'app-package-${token}'
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${token}'
    appInsightsName: 'appi-${token}'
    location: location
    tags: tags
  }
}

module openAi 'modules/openai.bicep' = if (!useExistingOpenAi) {
  name: 'openai'
  scope: rg
  params: {
    name: openAiName
    location: openAiLocation
    tags: tags
    deployBaseModel: deployBaseModel
    deployGraderModel: deployGraderModel
    modelName: baseModelName
    modelVersion: baseModelVersion
    graderModelName: graderModelName
    graderModelVersion: graderModelVersion
    capacity: baseModelCapacity
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    planName: 'plan-${token}'
    appName: 'func-${token}'
    location: location
    tags: tags
    instanceMemoryMB: instanceMemoryMB
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageName: storage.outputs.name
    deploymentContainer: storage.outputs.deploymentContainer
    appInsightsName: monitoring.outputs.appInsightsName
    openAiEndpoint: 'https://${openAiName}.openai.azure.com'
    openAiAccount: openAiName
    openAiResourceGroup: openAiGroupName
    inboxContainer: inboxContainer
    reportsContainer: reportsContainer
    runsTable: runsTable
    runTimerSchedule: runTimerSchedule
    eventsTimerSchedule: eventsTimerSchedule
    eventsQueue: eventsQueue
    defaultModel: defaultModel
    baseDeployment: baseDeploymentName
    graderDeployment: graderDeploymentName
  }
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    name: 'evgt-${token}'
    location: location
    tags: tags
    storageName: storage.outputs.name
  }
}

module appRoles 'modules/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageName: storage.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

module openAiRole 'modules/openai-role.bicep' = {
  name: 'openai-role'
  scope: resourceGroup(openAiGroupName)
  params: {
    principalId: identity.outputs.principalId
    openAiName: openAiName
  }
  dependsOn: [rg, openAi]
}

// Read by azd (and so by the postdeploy hook, as environment variables) and by the README.
output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_API_URL string = 'https://${functionApp.outputs.hostName}/api'
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output INBOX_CONTAINER string = inboxContainer
output REPORTS_CONTAINER string = reportsContainer
output EVENT_GRID_SYSTEM_TOPIC string = eventGrid.outputs.name
output BLOB_TRIGGER_FUNCTION string = 'validate_dropped_file'
output AZURE_OPENAI_ACCOUNT string = openAiName
output AZURE_OPENAI_BASE_DEPLOYMENT string = baseDeploymentName
output AZURE_OPENAI_GRADER_DEPLOYMENT string = graderDeploymentName
