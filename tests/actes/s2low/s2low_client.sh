#!/usr/bin/env bash
# A client of the S²LOW-style API written with curl only, as client software would call it:
# post an act (multipart), poll its status until 4 (acquittement reçu), fetch the ARActe and
# the stamped PDF. Usage: s2low_client.sh BASE_URL LOGIN API_KEY ACT.pdf ANNEX.pdf OUT_DIR
set -euo pipefail
base="$1"; login="$2"; key="$3"; pdf="$4"; annex="$5"; out="$6"
auth=(--silent --show-error --fail --user "${login}:${key}")

created=$(curl "${auth[@]}" \
  -F api=1 -F nature_code=1 -F classif1=5 -F classif2=2 -F number=CURL2026_1 \
  -F decision_date=2026-01-15 -F "subject=Délibération transmise par un script curl" \
  -F type_acte=99_DE -F "type_pj[]=21_DE" \
  -F "acte_pdf_file=@${pdf};type=application/pdf" \
  -F "acte_attachments[]=@${annex};type=application/pdf" \
  "${base}/modules/actes/actes_transac_create.php")
[ "$(echo "$created" | sed -n 1p)" = "OK" ] || { echo "création refusée : $created" >&2; exit 1; }
id=$(echo "$created" | sed -n 2p)
echo "transaction ${id}"

status=""
for _ in $(seq 1 50); do
  answer=$(curl "${auth[@]}" "${base}/modules/actes/actes_transac_get_status.php?transaction=${id}")
  status=$(echo "$answer" | sed -n 2p)
  echo "statut ${status}"
  [ "$status" = "4" ] && break
  [ "$status" = "-1" ] && { echo "erreur : $answer" >&2; exit 1; }
  sleep 0.2
done
[ "$status" = "4" ] || { echo "pas d'accusé de réception" >&2; exit 1; }

curl "${auth[@]}" -o "${out}/ARActe.xml" \
  "${base}/modules/actes/actes_transac_get_ARActe.php?id=${id}"
files=$(curl "${auth[@]}" "${base}/modules/actes/actes_transac_get_files_list.php?transaction=${id}")
# S²LOW lists the XML message first: the act is the second entry, as clients take it.
file_id=$(echo "$files" | grep -o '"id": *-\?[0-9]*' | sed -n 2p | grep -o '[0-9]*$')
curl "${auth[@]}" -o "${out}/tampon.pdf" \
  "${base}/modules/actes/actes_download_file.php?file=${file_id}&tampon=true&date_affichage=2026-01-20"
echo "fini"
