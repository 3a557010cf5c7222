@echo off
rem chimney-im lab package: install. Runs on Windows Vista / Server 2008 and later as shipped
rem (cmd.exe and in-box tools only: bcdedit, certutil, netcfg, netsh, sc, netstat).
rem Run it from an elevated command prompt in the unpacked package folder:
rem
rem   install.cmd            check test signing, trust the test certificate, install the protocol
rem   install.cmd /chimney   the same, then turn TCP chimney offload on (netsh)
rem
rem uninstall.cmd reverses every step. LAB-GUIDE.md explains each one.
setlocal EnableExtensions

rem Names, checked against the INFs by tests/lab_package.rs.
set "HERE=%~dp0"
set "PROTOCOL_INF=chimney_im.inf"
set "MINIPORT_INF=chimney_im_mp.inf"
set "PROTOCOL_ID=chimneyim_p"
set "MINIPORT_ID=chimneyim_mp"
set "PROTOCOL_SERVICE=ChimneyImP"
set "MINIPORT_SERVICE=ChimneyImMp"
set "DRIVER_SYS=chimney_im.sys"
set "NOTIFY_DLL=chimney_im_notify.dll"
set "CERT=chimney-im-test.cer"
set "STATE_DIR=%ProgramData%\chimney-im"
if "%ProgramData%"=="" set "STATE_DIR=%ALLUSERSPROFILE%\chimney-im"

set "ENABLE_CHIMNEY=0"
if /i "%~1"=="/chimney" set "ENABLE_CHIMNEY=1"
if not "%~1"=="" if not "%ENABLE_CHIMNEY%"=="1" (
    echo usage: install.cmd [/chimney]
    exit /b 2
)

rem 0. Elevation and package contents.
net session >nul 2>&1
if errorlevel 1 (
    echo install: run this from an elevated command prompt ^(Run as administrator^).
    exit /b 1
)
for %%F in ("%PROTOCOL_INF%" "%MINIPORT_INF%" "%DRIVER_SYS%" "%NOTIFY_DLL%" "%CERT%") do (
    if not exist "%HERE%%%~F" (
        echo install: %%~F is missing next to install.cmd: unpack the whole package.
        exit /b 1
    )
)

rem 1. Test signing: 64-bit Windows loads a test-signed kernel image only with it on.
bcdedit /enum {current} | findstr /i /r /c:"testsigning  *Yes" >nul
if errorlevel 1 (
    echo install: test signing is off. Turn it on and reboot, then run install.cmd again:
    echo     bcdedit /set testsigning on
    echo   ^(with Secure Boot on, turn Secure Boot off in the firmware first^)
    exit /b 1
)
echo install: test signing is on.

rem 2. Trust the test certificate: Root (chain) and TrustedPublisher (no publisher prompt).
certutil -f -addstore Root "%HERE%%CERT%"
if errorlevel 1 goto :failed
certutil -f -addstore TrustedPublisher "%HERE%%CERT%"
if errorlevel 1 goto :failed

rem 3. Install the protocol edge. netcfg copies both INFs (CopyInf brings the miniport INF);
rem    the notify object then creates one virtual miniport per bound Ethernet adapter.
netcfg -v -l "%HERE%%PROTOCOL_INF%" -c p -i %PROTOCOL_ID%
set "NETCFG_RC=%errorlevel%"
netcfg -s n | findstr /i /c:"%PROTOCOL_ID%" >nul
if errorlevel 1 (
    echo install: netcfg returned %NETCFG_RC% and %PROTOCOL_ID% is not installed.
    echo          See %%windir%%\inf\setupapi.dev.log ^(Vista and later^) for the reason.
    goto :failed
)
if not "%NETCFG_RC%"=="0" echo install: netcfg returned %NETCFG_RC% ^(a reboot may be needed^).

rem 4. Chimney, if asked. Remembered so that uninstall.cmd turns it off again.
if "%ENABLE_CHIMNEY%"=="1" (
    netsh int tcp set global chimney=enabled
    if errorlevel 1 goto :failed
    if not exist "%STATE_DIR%" mkdir "%STATE_DIR%"
    echo chimney enabled by install.cmd> "%STATE_DIR%\chimney-enabled-by-install"
)

rem 5. Result.
echo.
echo ===== installed components =====
netcfg -s n | findstr /i /c:"%PROTOCOL_ID%" /c:"%MINIPORT_ID%"
echo ===== services =====
sc query %PROTOCOL_SERVICE%
sc query %MINIPORT_SERVICE%
echo ===== chimney state =====
netsh int tcp show global
echo ===== connections and their offload state (netstat -t) =====
netstat -t -n
echo.
echo install: done. The virtual adapter(s) appear in ncpa.cpl as "Chimney IM Virtual Miniport".
exit /b 0

:failed
echo install: FAILED ^(exit code %errorlevel%^). Run uninstall.cmd to undo the steps that ran.
exit /b 1
