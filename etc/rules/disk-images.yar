// Disk images: ISO 9660, UDF, VHD/VHDX, Apple DMG and raw FAT/NTFS volumes (.img). Windows
// mounts them with a double click, and until 2022 the files inside lost the Mark of the Web;
// attackers use them to carry programs and shortcuts past mail filters. Business mail
// seldom needs one: suspicious. (The pipeline also opens ISO images and scans their files.)

rule Disk_Image
{
  meta:
    verdict = "suspicious"
    description = "A disk image (ISO, UDF, VHD, VHDX, DMG or a raw FAT/NTFS volume)"
  condition:
    // ISO 9660 "CD001" or UDF "BEA01" in the volume descriptor at sector 16 (2048-byte sectors)
    (uint32be(0x8001) == 0x43443030 and uint8(0x8005) == 0x31) or
    (uint32be(0x8001) == 0x42454130 and uint8(0x8005) == 0x31) or
    // VHDX: "vhdxfile" at 0
    (uint32be(0) == 0x76686478 and uint32be(4) == 0x66696C65) or
    // VHD: "conectix" footer at the end (fixed) and its copy at 0 (dynamic)
    (uint32be(0) == 0x636F6E65 and uint32be(4) == 0x63746978) or
    (filesize >= 512 and uint32be(filesize - 512) == 0x636F6E65 and
     uint32be(filesize - 508) == 0x63746978) or
    // DMG: "koly" trailer in the last 512 bytes
    (filesize >= 512 and uint32be(filesize - 512) == 0x6B6F6C79) or
    // A FAT or NTFS boot sector: 55 AA at 510 and the file system's name where it belongs
    (uint16(510) == 0xAA55 and (uint8(0) == 0xEB or uint8(0) == 0xE9) and
     (uint32be(0x36) == 0x46415431 or uint32be(0x52) == 0x46415433 or
      uint32be(3) == 0x4E544653))
}
