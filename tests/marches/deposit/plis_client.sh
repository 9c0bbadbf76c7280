#!/usr/bin/env bash
# A company's tool depositing a pli through the deposit API with curl only (docs/plis-api.md):
# start the deposit, send the offer in 4 MiB requests — the first one cut after 1.5 MiB, as a
# broken connection would — asking the server's offset (HEAD) before each request, confirm,
# download the signed receipt. Usage: plis_client.sh BASE_URL API_KEY CONSULTATION OFFER OUT
set -euo pipefail
base="$1"; key="$2"; consultation="$3"; offer="$4"; out="$5"
curl_=(curl --silent --show-error --fail -H "Authorization: Bearer ${key}" -H "Expect:")
name=$(basename "$offer"); size=$(stat -c %s "$offer"); part=$((4 * 1024 * 1024))

started=$("${curl_[@]}" -X POST -H "Content-Type: application/json" \
  --data "{\"files\": [{\"kind\": \"offre\", \"name\": \"${name}\", \"size\": ${size}}]}" \
  "${base}/api/v1/marches/entreprise/consultations/${consultation}/plis")
file_url=$(echo "$started" | grep -o '"url": "[^"]*"' | head -1 | cut -d'"' -f4)
confirm_url=$(echo "$started" | grep -o '"confirm_url": "[^"]*"' | cut -d'"' -f4)
echo "dépôt commencé : ${file_url}"

offset_of() {
  "${curl_[@]}" --head "${base}${file_url}" | tr -d '\r' | grep -i '^upload-offset:' | cut -d' ' -f2
}

send() {  # send $2 bytes from offset $1
  dd if="$offer" iflag=skip_bytes,count_bytes skip="$1" count="$2" bs=1M status=none |
    "${curl_[@]}" -X PUT \
    -H "Content-Type: application/octet-stream" -H "Upload-Offset: $1" \
    --data-binary @- "${base}${file_url}" > /dev/null
}

send 0 $((part * 3 / 8))  # cut: 1.5 MiB of the first 4 MiB request
offset=$(offset_of)
echo "coupure : reprise à l'octet ${offset}"
while [ "$offset" -lt "$size" ]; do
  send "$offset" "$part"
  offset=$(offset_of)
  echo "reçu ${offset} / ${size}"
done

"${curl_[@]}" -X POST -H "Content-Type: application/json" --data '{"backup_copy": false}' \
  "${base}${confirm_url}" > "${out}/depot.json"
receipt=$(grep -o '"receipt_url": "[^"]*"' "${out}/depot.json" | cut -d'"' -f4)
"${curl_[@]}" -o "${out}/accuse.pdf" "${base}${receipt}"
echo "fini"
