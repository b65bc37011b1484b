# The test page (gateway_ui) alone, in the background, on Windows: what scripts/frontend.sh does
# elsewhere. `start` runs it with a pid file in .local\pids and waits until it answers; `stop`
# stops only the process `start` started. Called by `make -f Makefile.windows start` / `stop`.
# Settings come from the environment, as in gateway_ui/config.yaml (GATEWAY_UI_ADDRESS, ...).
param(
    [Parameter(Mandatory = $true)]
    [ValidateSet("start", "stop")]
    [string]$Action
)
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")

$State = ".local"
$PidFile = Join-Path $State "pids\frontend.pid"
$LogFile = Join-Path $State "logs\frontend.log"
$ErrFile = Join-Path $State "logs\frontend.err.log"
New-Item -ItemType Directory -Force -Path (Join-Path $State "pids"), (Join-Path $State "logs") | Out-Null
$Address = if ($env:GATEWAY_UI_ADDRESS) { $env:GATEWAY_UI_ADDRESS } else { "0.0.0.0:8081" }
$Port = $Address.Split(":")[-1]

function Get-Frontend {
    if (Test-Path $PidFile) {
        Get-Process -Id ([int](Get-Content $PidFile)) -ErrorAction SilentlyContinue
    }
}

function Test-Answers {
    try {
        Invoke-WebRequest -UseBasicParsing -TimeoutSec 1 "http://127.0.0.1:$Port/ping" | Out-Null
        return $true
    } catch {
        return $false
    }
}

if ($Action -eq "start") {
    $running = Get-Frontend
    if ($running) {
        Write-Host "[frontend] already running (pid $($running.Id)) on http://localhost:$Port"
        exit 0
    }
    $process = Start-Process -PassThru -WindowStyle Hidden `
        -FilePath ".venv\Scripts\nameko.exe" `
        -ArgumentList "run", "--config", "gateway_ui/config.yaml", "gateway_ui.service" `
        -RedirectStandardOutput $LogFile -RedirectStandardError $ErrFile
    Set-Content -Path $PidFile -Value $process.Id
    foreach ($attempt in 1..100) {
        if (Test-Answers) {
            Write-Host "[frontend] test page on http://localhost:$Port (pid $($process.Id))"
            exit 0
        }
        if ($process.HasExited) { break }
        Start-Sleep -Milliseconds 200
    }
    Write-Host "[frontend] the test page did not answer on :$Port; see $ErrFile"
    Stop-Process -Id $process.Id -ErrorAction SilentlyContinue
    Remove-Item $PidFile -ErrorAction SilentlyContinue
    exit 1
}

$running = Get-Frontend
if ($running) {
    Stop-Process -Id $running.Id
    Write-Host "[frontend] stopped (pid $($running.Id))"
} else {
    Write-Host "[frontend] not running"
}
Remove-Item $PidFile -ErrorAction SilentlyContinue
