// Script droppers: JScript, VBScript, HTML applications, PowerShell and batch files sent as
// attachments (often zipped) that fetch a payload and run it. Either half alone is common in
// administrators' scripts; both together in a mailed script is the shape of a dropper.
// Files that begin like a program, an Office document, an archive or a PDF are left to
// their own rules. Obfuscated scripts that build these names from pieces are missed.

rule Script_Download_Execute
{
  meta:
    verdict = "dangerous"
    description = "A script that downloads something and runs it, or starts PowerShell with an encoded command"
  strings:
    $dl1 = "MSXML2.XMLHTTP" nocase
    $dl2 = "Microsoft.XMLHTTP" nocase
    $dl3 = "MSXML2.ServerXMLHTTP" nocase
    $dl4 = "WinHttp.WinHttpRequest" nocase
    $dl5 = "Net.WebClient" nocase
    $dl6 = "DownloadFile" nocase
    $dl7 = "DownloadString" nocase
    $dl8 = "DownloadData" nocase
    $dl9 = "Invoke-WebRequest" nocase
    $dl10 = "Invoke-RestMethod" nocase
    $dl11 = "Start-BitsTransfer" nocase
    $dl12 = "bitsadmin" nocase
    $dl13 = "urlcache" nocase
    $dl14 = "URLDownloadToFile" nocase
    $run1 = "WScript.Shell" nocase
    $run2 = "Shell.Application" nocase
    $run3 = "ShellExecute" nocase
    $run4 = "Start-Process" nocase
    $run5 = "Invoke-Expression" nocase
    $run6 = "iex" fullword nocase
    $run7 = "powershell" nocase
    $run8 = "cmd.exe" nocase
    $run9 = "mshta" nocase
    $run10 = "rundll32" nocase
    $run11 = "regsvr32" nocase
    $run12 = "Win32_Process" nocase
    $enc = /powershell(\.exe)?["']?\s[^\r\n]{0,80}-e[a-z]{0,13}\s+["']?[A-Za-z0-9+\/=]{40}/ nocase
  condition:
    filesize < 5MB and
    not (uint16(0) == 0x5A4D or uint32be(0) == 0xD0CF11E0 or uint32(0) == 0x04034B50 or
         uint32(0) == 0x46445025 or uint32(0) == 0x0000004C) and
    ((any of ($dl*) and any of ($run*)) or $enc)
}
