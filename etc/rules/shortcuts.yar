// Windows shortcuts (.lnk, MS-SHLLINK): a 0x4C-byte header with the ShellLink class id
// 00021401-0000-0000-C000-000000000046. A shortcut in a mail or an archive has no honest
// use; one whose target or arguments name a command interpreter or a script host runs a
// command line when double-clicked: dangerous. Paths are in ANSI and in UTF-16.

private rule Windows_Shortcut_File
{
  condition:
    uint32(0) == 0x0000004C and uint32(4) == 0x00021401 and uint32(8) == 0 and
    uint32(12) == 0x000000C0 and uint32(16) == 0x46000000
}

rule Windows_Shortcut_Runs_Interpreter
{
  meta:
    verdict = "dangerous"
    description = "A Windows shortcut that starts a command interpreter or script host"
  strings:
    $ps = "powershell" ascii wide nocase
    $pwsh = "pwsh.exe" ascii wide nocase
    $cmd = "cmd.exe" ascii wide nocase
    $cmd2 = "cmd /c" ascii wide nocase
    $mshta = "mshta" ascii wide nocase
    $wscript = "wscript" ascii wide nocase
    $cscript = "cscript" ascii wide nocase
    $rundll = "rundll32" ascii wide nocase
    $regsvr = "regsvr32" ascii wide nocase
    $certutil = "certutil" ascii wide nocase
    $bits = "bitsadmin" ascii wide nocase
    $msiexec = "msiexec" ascii wide nocase
    $conhost = "conhost" ascii wide nocase
    $forfiles = "forfiles" ascii wide nocase
  condition:
    Windows_Shortcut_File and any of them
}

rule Windows_Shortcut
{
  meta:
    verdict = "suspicious"
    description = "A Windows shortcut (.lnk): it runs whatever it points at when opened"
  condition:
    Windows_Shortcut_File and not Windows_Shortcut_Runs_Interpreter
}
