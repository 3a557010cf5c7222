@echo off
rem chimney-im lab package: uninstall. Reverses install.cmd step by step, in reverse order, and
rem carries on past a step that has nothing to undo (safe after a partial install).
rem Run it from an elevated command prompt in the unpacked package folder:
rem
rem   uninstall.cmd
rem
rem Test signing stays as it is (install.cmd only checked it); turn it off with
rem   bcdedit /set testsigning off
setlocal EnableExtensions EnableDelayedExpansion

rem Names, checked against the INFs by tests/lab_package.rs.
set "HERE=%~dp0"
set "PROTOCOL_ID=chimneyim_p"
set "MINIPORT_ID=chimneyim_mp"
set "PROTOCOL_SERVICE=ChimneyImP"
set "MINIPORT_SERVICE=ChimneyImMp"
set "DRIVER_SYS=chimney_im.sys"
set "NOTIFY_DLL=chimney_im_notify.dll"
set "THUMBPRINT_FILE=chimney-im-test.thumbprint"
set "STATE_DIR=%ProgramData%\chimney-im"
if "%ProgramData%"=="" set "STATE_DIR=%ALLUSERSPROFILE%\chimney-im"
set "PROBLEMS=0"

net session >nul 2>&1
if errorlevel 1 (
    echo uninstall: run this from an elevated command prompt ^(Run as administrator^).
    exit /b 1
)

rem 4. Chimney: off again only if install.cmd turned it on.
if exist "%STATE_DIR%\chimney-enabled-by-install" (
    netsh int tcp set global chimney=disabled
    if errorlevel 1 set "PROBLEMS=1"
    del "%STATE_DIR%\chimney-enabled-by-install"
    rd "%STATE_DIR%" 2>nul
)

rem 3. The protocol. Removing it makes the notify object remove the virtual miniports.
netcfg -s n | findstr /i /c:"%PROTOCOL_ID%" >nul
if errorlevel 1 (
    echo uninstall: %PROTOCOL_ID% is not installed.
) else (
    netcfg -v -u %PROTOCOL_ID%
    netcfg -s n | findstr /i /c:"%PROTOCOL_ID%" >nul
    if not errorlevel 1 (
        echo uninstall: %PROTOCOL_ID% is still installed ^(reboot, then run uninstall.cmd again^).
        set "PROBLEMS=1"
    )
)

rem    Their INFs in the driver store (oem*.inf copies of chimney_im.inf / chimney_im_mp.inf).
for /f "delims=" %%I in ('findstr /m /i /c:"%PROTOCOL_ID%" /c:"%MINIPORT_ID%" "%windir%\inf\oem*.inf" 2^>nul') do (
    echo uninstall: removing driver package %%~nxI
    pnputil -d %%~nxI
    if errorlevel 1 set "PROBLEMS=1"
)

rem    Files the legacy model copied (DIRID 12 / 11); the services must be gone first.
set "SERVICES_GONE=1"
sc query %PROTOCOL_SERVICE% >nul 2>&1
if not errorlevel 1 set "SERVICES_GONE=0"
sc query %MINIPORT_SERVICE% >nul 2>&1
if not errorlevel 1 set "SERVICES_GONE=0"
if "%SERVICES_GONE%"=="1" (
    for %%F in ("%windir%\System32\drivers\%DRIVER_SYS%" "%windir%\System32\%NOTIFY_DLL%") do (
        if exist "%%~F" (
            del /f "%%~F"
            if exist "%%~F" (
                echo uninstall: %%~F is in use; it goes after a reboot.
                set "PROBLEMS=1"
            )
        )
    )
) else (
    echo uninstall: a service is still registered; driver files left in place.
    set "PROBLEMS=1"
)

rem 2. The test certificate, by its SHA-1 thumbprint (written by cargo xtask package).
if exist "%HERE%%THUMBPRINT_FILE%" (
    set /p THUMBPRINT=<"%HERE%%THUMBPRINT_FILE%"
    certutil -delstore TrustedPublisher !THUMBPRINT!
    certutil -delstore Root !THUMBPRINT!
) else (
    echo uninstall: %THUMBPRINT_FILE% missing; remove the "chimney-im lab test signing"
    echo            certificate from Root and TrustedPublisher with certmgr.msc.
    set "PROBLEMS=1"
)

rem 1. Test signing: left on (see above).
echo.
netcfg -s n | findstr /i /c:"%PROTOCOL_ID%" /c:"%MINIPORT_ID%"
if "%PROBLEMS%"=="0" (
    echo uninstall: done.
    exit /b 0
)
echo uninstall: finished with problems ^(see above^).
exit /b 1
