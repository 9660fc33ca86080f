// The EICAR anti-virus test file (https://www.eicar.org/download-anti-malware-testfile/):
// harmless, but every scanner calls it a virus, so administrators can check the whole path
// from mail to report. As the standard asks, the string must open the file and the file be
// at most 128 bytes, so a mail that only quotes the string is not flagged.

rule EICAR_Test_File
{
  meta:
    verdict = "dangerous"
    description = "The EICAR anti-virus test file: harmless, sent on purpose to test detection"
  strings:
    $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
  condition:
    $eicar at 0 and filesize <= 128
}
