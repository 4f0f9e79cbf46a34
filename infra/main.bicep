// Tunedrop on Azure: `azd up` deploys this at subscription scope. Every resource is a plain
// `resource` block in ./modules, so offline checks (pycep-parser, checkov) can read all of it.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; names the resource group and seeds resource names.')
param environmentName string

// Regions with Flex Consumption, as Azure-Samples/functions-quickstart-python-http-azd lists them
// (infra/main.bicep; less its canary region). Today's list: `az functionapp
// list-flexconsumption-locations`.
@minLength(1)
@description('Region of every resource except Azure OpenAI: one with Flex Consumption.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

// Regions with Standard (regional) supervised fine-tuning of at least one model: the union of
// hooks/fine_tuning_regions.py's table (its source and date are there; tests/infra compares the
// two). The preprovision hook checks the chosen model in the chosen region against ARM.
@description('Region of the Azure OpenAI account: one where Standard fine-tuning of your model is offered.')
@allowed([
  'eastus2'
  'northcentralus'
  'swedencentral'
])
param openAiLocation string = 'swedencentral'

@description('NCRONTAB schedule (UTC) of the timer that advances runs.')
param runTimerSchedule string = '0,30 * * * * *'

@description('NCRONTAB schedule (UTC) of the timer that hands run events to the delivery queue. Flex Consumption runs each timer on its own instances, so each is billed apart (README, cost at rest).')
param eventsTimerSchedule string = '0,30 * * * * *'

@description('Memory of each Function App instance; 512 keeps the idle timer within the free grant (README, cost at rest).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

// No default: every model the docs list for supervised fine-tuning on an OpenAI account was past
// its retirement for new customers on 2026-12-06 (README, Models for a new deployment). azd asks
// for it; the preprovision hook refuses one ARM does not offer for fine-tuning in openAiLocation.
@minLength(1)
@description('Base model runs fine-tune when run.json names none, as <name>-<version>, e.g. gpt-4.1-mini-2025-04-14.')
param defaultModel string

@description('Deploy the base model too, for side-by-side chat with a tuned model.')
param deployBaseModel bool = true

@description('Deploy a model for the evaluation grader (EVAL_GRADER_DEPLOYMENT; optional).')
param deployGraderModel bool = false

@description('Base model to deploy for side-by-side chat (default: defaultModel\'s name).')
param baseModelName string = ''

@description('Version of the base model to deploy (default: defaultModel\'s version).')
param baseModelVersion string = ''

@description('Capacity of each base model deployment, in thousands of tokens per minute.')
param baseModelCapacity int = 10

@description('Model of the evaluation grader deployment (default: the base model).')
param graderModelName string = ''

@description('Version of the grader model (default: the base model\'s, when the model is too).')
param graderModelVersion string = ''

@description('Name of an existing Azure OpenAI account to use instead of creating one.')
param existingOpenAiName string = ''

@description('Resource group of that existing account (required with its name; the preprovision hook checks).')
param existingOpenAiResourceGroup string = ''

@description('A deployment of the base model in that existing account, for side-by-side chat (optional).')
param existingOpenAiBaseDeployment string = ''

@description('A deployment in that existing account to grade evaluations with (optional).')
param existingOpenAiGraderDeployment string = ''

// More Azure OpenAI accounts for the pool (README, A pool of accounts): each is created in its
// region, gets the app's role, and joins the account above in AZURE_OPENAI_ACCOUNTS. A subscription
// may hold up to 30 accounts per region. Empty: one account, as before.
@description('More Azure OpenAI accounts for the pool: a list of {name, location}, e.g. [{"name": "tunedrop-east-1", "location": "eastus2"}]. Names must be globally unique (each is its subdomain).')
param openAiPool array = []

@description('Object id of the person deploying (azd passes the signed-in user\'s): may drop files into the inbox.')
param principalId string = ''

@description('Type of that principal: User, or ServicePrincipal when a pipeline deploys.')
@allowed(['User', 'ServicePrincipal', 'Group'])
param principalType string = 'User'

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))
var useExistingOpenAi = !empty(existingOpenAiName)
var openAiGroupName = useExistingOpenAi ? existingOpenAiResourceGroup : resourceGroupName
// defaultModel is <name>-<version>, the version a yyyy-mm-dd date (11 characters with its dash).
var defaultModelName = substring(defaultModel, 0, max(length(defaultModel) - 11, 0))
var defaultModelVersion = substring(defaultModel, max(length(defaultModel) - 10, 0))
var baseModel = empty(baseModelName) ? defaultModelName : baseModelName
var baseVersion = empty(baseModelVersion) ? defaultModelVersion : baseModelVersion
var graderModel = empty(graderModelName) ? baseModel : graderModelName
var graderVersion = empty(graderModelVersion) ? baseVersion : graderModelVersion
var openAiName = useExistingOpenAi ? existingOpenAiName : 'oai-${token}'
var resourceGroupName = 'rg-${environmentName}'
var inboxContainer = 'training-inbox'
var reportsContainer = 'training-reports'
var runsTable = 'TunedropRuns'
var eventsQueue = 'tunedrop-events'
var runsQueue = 'tunedrop-runs'
var deadLetterContainer = 'eventgrid-deadletter'
var newBaseDeployment = deployBaseModel ? baseModel : ''
var baseDeploymentName = useExistingOpenAi ? existingOpenAiBaseDeployment : newBaseDeployment
var newGraderDeployment = deployGraderModel ? '${graderModel}-grader' : ''
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
    runsQueue: runsQueue
    deadLetterContainer: deadLetterContainer
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
    modelName: baseModel
    modelVersion: baseVersion
    graderModelName: graderModel
    graderModelVersion: graderVersion
    capacity: baseModelCapacity
  }
}

// An account you named: its endpoint is read from it (its subdomain may differ from its name),
// in its own resource group.
module existingOpenAi 'modules/openai-existing.bicep' = if (useExistingOpenAi) {
  name: 'openai-existing'
  scope: resourceGroup(openAiGroupName)
  params: {
    name: openAiName
  }
}

// The pool's other accounts: no base or grader deployment (side-by-side chat and grading use
// the first account's), only fine-tuning and the runs' deployments.
module poolAccounts 'modules/openai.bicep' = [for (account, index) in openAiPool: {
  name: 'openai-pool-${index}'
  scope: rg
  params: {
    name: account.name
    location: account.location
    tags: tags
    deployBaseModel: false
    deployGraderModel: false
    modelName: baseModel
    modelVersion: baseVersion
    graderModelName: graderModel
    graderModelVersion: graderVersion
    capacity: baseModelCapacity
  }
}]

module poolRoles 'modules/openai-role.bicep' = [for (account, index) in openAiPool: {
  name: 'openai-pool-role-${index}'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    openAiName: account.name
  }
  dependsOn: [poolAccounts]
}]

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
    openAiEndpoint: useExistingOpenAi ? existingOpenAi.outputs.endpoint : openAi.outputs.endpoint
    openAiAccount: openAiName
    openAiResourceGroup: openAiGroupName
    inboxContainer: inboxContainer
    reportsContainer: reportsContainer
    runsTable: runsTable
    runTimerSchedule: runTimerSchedule
    eventsTimerSchedule: eventsTimerSchedule
    eventsQueue: eventsQueue
    runsQueue: runsQueue
    defaultModel: defaultModel
    baseDeployment: baseDeploymentName
    graderDeployment: graderDeploymentName
    openAiLocation: openAiLocation
    openAiPool: openAiPool
  }
  // The app starts with its roles in place: otherwise its first start meets 403s from storage
  // and the postdeploy hook waits for a key the host cannot make.
  dependsOn: [appRoles, openAiRole, poolRoles]
}

module eventGrid 'modules/eventgrid.bicep' = {
  name: 'eventgrid'
  scope: rg
  params: {
    name: 'evgt-${token}'
    location: location
    tags: tags
    storageName: storage.outputs.name
    deadLetterContainer: storage.outputs.deadLetterContainer
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

// The person who deployed may drop files into the inbox with their own login.
module deployerRole 'modules/deployer-role.bicep' = if (!empty(principalId)) {
  name: 'deployer-role'
  scope: rg
  params: {
    principalId: principalId
    principalType: principalType
    storageName: storage.outputs.name
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
output AZURE_TENANT_ID string = tenant().tenantId
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
output AZURE_OPENAI_ENDPOINT string = useExistingOpenAi ? existingOpenAi.outputs.endpoint : openAi.outputs.endpoint
output DEFAULT_MODEL string = defaultModel
output EVENT_GRID_DEADLETTER_CONTAINER string = deadLetterContainer
