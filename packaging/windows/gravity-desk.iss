; Gravity Desk for Windows: an Inno Setup 6 script that turns dist\gravity-desk\ (PyInstaller) into one setup .exe.
;
; Build with packaging\windows\build.ps1, or by hand from the repository root:
;   iscc /DAppVersion=0.1.0 packaging\windows\gravity-desk.iss
; Output: dist\gravity-desk-<version>-setup.exe
;
; Installs for the current user by default (no administrator rights, into %LOCALAPPDATA%\Programs); the
; first page offers "Install for all users" (Program Files, needs an administrator). Silent installs:
;   gravity-desk-<version>-setup.exe /VERYSILENT [/ALLUSERS] [/TASKS="desktopicon,startup"]
; Silent uninstall keeps the user's data unless /DELETEUSERDATA is given:
;   unins000.exe /VERYSILENT [/DELETEUSERDATA]

#ifndef SourceDir
  #define SourceDir "..\..\dist\gravity-desk"
#endif
#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=<pyproject.toml's version> (build.ps1 does)
#endif
#ifndef NumericVersion
  ; VersionInfoVersion must be numbers only (a pre-release such as 0.2.0rc1 is not).
  #define NumericVersion AppVersion
#endif

#define AppName "Gravity Desk"
#define AppExe "gravity-desk.exe"
; Its console twin for terminals (build.spec): `gravity-desk-cli.exe serve` may be what is running.
#define AppCliExe "gravity-desk-cli.exe"
; These two must match core/autostart.py (RUN_KEY, RUN_VALUE) so that the "start when I sign in" task and the
; app's own Settings switch are the same thing, and uninstalling removes whichever of them made the entry.
#define RunKey "Software\Microsoft\Windows\CurrentVersion\Run"
#define RunValue "Gravity Desk"
; Task Manager's "Startup apps" switch keeps its on/off flag under this key, by the same value name.
#define StartupApprovedKey "Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
; platformdirs' user data folder for "gravity-desk" (core/config.py data_dir()).
#define DataDir "{localappdata}\gravity-desk"
; keyring's service name (core/secrets.py SecretStore.SERVICE): Windows Credential Manager entries are named
; "gravity-desk" or "<account>@gravity-desk".
#define CredentialService "gravity-desk"

[Setup]
; The AppId identifies this application across versions (upgrades, uninstall). Never change it.
AppId={{01F5C6F8-2FC4-41DC-9CD1-D9DAD14C6A04}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Gravity Desk
VersionInfoVersion={#NumericVersion}
VersionInfoProductName={#AppName}
VersionInfoProductVersion={#AppVersion}
VersionInfoDescription={#AppName} Setup
VersionInfoCopyright=Gravity Desk contributors
; Per-user by default; the dialog (or /ALLUSERS, /CURRENTUSER) can switch to an all-users install.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog commandline
; {autopf} is %LOCALAPPDATA%\Programs for a per-user install, Program Files for all users.
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; The start-at-login value is per user (HKCU) by design, even in an all-users install: it is the installing
; user's choice, and the same value the app's Settings switch writes for whoever runs it.
UsedUserAreasWarning=no
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\dist
OutputBaseFilename=gravity-desk-{#AppVersion}-setup
SetupIconFile=..\..\assets\gravity-desk.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
WizardStyle=modern
Compression=lzma2/max
SolidCompression=yes
; A running Gravity Desk holds its executable and DLLs open: Restart Manager closes it before files are replaced
; (force: a tray app has no window that could answer "save your work?"). The uninstaller has no Restart Manager
; support, so [Code] closes the app there (CloseRunningApp).
CloseApplications=force
CloseApplicationsFilter=*.exe,*.dll,*.pyd
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[CustomMessages]
english.StartAtSignIn=Start Gravity Desk when I sign in
english.StartAtSignInGroup=Start at sign-in:
english.LaunchNow=Start Gravity Desk now
english.DeleteUserData=Also delete my accounts and settings?%n%nThis removes%n  %1%n(accounts, API key, request log, settings) and the account sign-ins Gravity Desk saved in Windows Credential Manager.%n%nChoose No to keep them for a later reinstall.
english.ClosingApp=Gravity Desk is running. It will be closed so that it can be uninstalled.

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "startup"; Description: "{cm:StartAtSignIn}"; GroupDescription: "{cm:StartAtSignInGroup}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Comment: "Your Google AI accounts behind local OpenAI, Claude, Gemini and Ollama APIs"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Registry]
; Same value as core/autostart.py writes: the frozen executable, started minimised to the tray.
Root: HKCU; Subkey: "{#RunKey}"; ValueType: string; ValueName: "{#RunValue}"; ValueData: """{app}\{#AppExe}"" --minimized"; Flags: uninsdeletevalue; Tasks: startup

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchNow}"; Flags: nowait postinstall skipifsilent

[Code]
var
  DeleteUserData: Boolean;

function HasParameter(const Name: String): Boolean;
var
  Index: Integer;
begin
  // The uninstaller's second phase (the copy it runs from %TEMP%) receives the original parameters too.
  Result := False;
  for Index := 1 to ParamCount do
    if CompareText(ParamStr(Index), Name) = 0 then
      Result := True;
end;

function AppIsRunning(): Boolean;
var
  Locator, Service, Processes: Variant;
begin
  // WMI rather than tasklist: tasklist's filters and output differ between Windows versions (and Wine, where
  // this installer is tested). Should WMI itself fail, assume the app runs and let taskkill find out.
  try
    Locator := CreateOleObject('WbemScripting.SWbemLocator');
    Service := Locator.ConnectServer('.', 'root\CIMV2');
    Processes := Service.ExecQuery('SELECT ProcessId FROM Win32_Process WHERE Name = ''{#AppExe}'' ' +
      'OR Name = ''{#AppCliExe}''');
    Result := Processes.Count > 0;
  except
    Log('WMI query failed: ' + GetExceptionMessage);
    Result := True;
  end;
end;

procedure CloseRunningApp();
var
  ResultCode: Integer;
begin
  if not AppIsRunning() then
    Exit;
  Log('Gravity Desk is running: closing it');
  if not UninstallSilent then
    MsgBox(CustomMessage('ClosingApp'), mbInformation, MB_OK);
  // Every instance this user may stop: in an all-users install another user's copy holds the files open too
  // (and only an administrator, who may stop it, can remove them). SQLite keeps the data consistent even when
  // the process is stopped mid-write. Gravity Desk is one process (a PyInstaller one-folder app has no child).
  Exec(ExpandConstant('{sys}\taskkill.exe'), '/F /IM {#AppExe} /IM {#AppCliExe}', '', SW_HIDE,
    ewWaitUntilTerminated, ResultCode);
  Log(Format('taskkill exit code %d', [ResultCode]));
  Sleep(500);  // let Windows release the file handles
end;

procedure RemoveRunValue();
var
  Command: String;
begin
  // The app's Settings switch may have written it even when the install task was not chosen; an entry that
  // starts some other copy of Gravity Desk is left alone.
  if not RegQueryStringValue(HKCU, '{#RunKey}', '{#RunValue}', Command) then
    Exit;
  if Pos(Lowercase(ExpandConstant('{app}\{#AppExe}')), Lowercase(Command)) > 0 then
  begin
    RegDeleteValue(HKCU, '{#RunKey}', '{#RunValue}');
    RegDeleteValue(HKCU, '{#StartupApprovedKey}', '{#RunValue}');
    Log('Removed the start-at-sign-in value');
  end
  else
    Log('Kept the start-at-sign-in value, which starts another copy: ' + Command);
end;

procedure DeleteSavedCredentials();
var
  ResultCode: Integer;
begin
  // keyring stores each secret as a generic credential named "<service>" or "<name>@<service>"; cmdkey lists
  // them as "...target=<name>" (the label before it is translated, the "target=" part is not).
  Exec(ExpandConstant('{sys}\WindowsPowerShell\v1.0\powershell.exe'),
    '-NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "' +
    'cmdkey /list | ForEach-Object { if ($_ -match ''(\S*target=(.+@)?{#CredentialService})\s*$'') ' +
    '{ cmdkey /delete:$($Matches[1]) | Out-Null } }"',
    '', SW_HIDE, ewWaitUntilTerminated, ResultCode);
  Log(Format('Credential clean-up exit code %d', [ResultCode]));
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  case CurUninstallStep of
    usUninstall:
      begin
        CloseRunningApp();
        if UninstallSilent then
          DeleteUserData := HasParameter('/DELETEUSERDATA')
        else
          // Keeping the data is the default answer: reinstalling then brings every account back.
          DeleteUserData := MsgBox(FmtMessage(CustomMessage('DeleteUserData'), [ExpandConstant('{#DataDir}')]),
            mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES;
        RemoveRunValue();
      end;
    usPostUninstall:
      if DeleteUserData then
      begin
        if DelTree(ExpandConstant('{#DataDir}'), True, True, True) then
          Log('Deleted the user data in ' + ExpandConstant('{#DataDir}'))
        else
          Log('User data not deleted (absent or in use): ' + ExpandConstant('{#DataDir}'));
        DeleteSavedCredentials();
      end
      else
        Log('Kept the user data in ' + ExpandConstant('{#DataDir}'));
  end;
end;
