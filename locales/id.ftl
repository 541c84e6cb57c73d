# Bahasa Indonesia: the default language of every page.
lang-code = id
lang-other-name = English
lang-other-code = en
site-name = Peluit
tagline = Saluran pelaporan pelanggaran yang anonim dan terenkripsi
nav-home = Beranda
nav-submit = Buat laporan
nav-status = Cek status laporan
nav-about = Privasi

home-title = Laporkan korupsi dengan aman
home-intro = Di sini Anda dapat melaporkan pungutan liar, suap, gratifikasi, atau penyalahgunaan wewenang di layanan publik. Anda tidak perlu menyebutkan nama.
home-who = Laporan Anda dienkripsi begitu tiba dan hanya dapat dibuka oleh pemeriksa { $org } di komputer yang tidak terhubung ke internet. Pengelola server pun tidak dapat membacanya.
home-safety-title = Sebelum melapor
home-safety-device = Gunakan perangkat dan jaringan pribadi, bukan milik kantor.
home-safety-tor = Sebaiknya gunakan Tor Browser dan alamat onion layanan ini.
home-safety-metadata = Berkas dapat menyimpan data tersembunyi seperti nama penulis atau lokasi GPS. Hapus data itu atau kirim tangkapan layar.
home-safety-tell = Jangan ceritakan laporan Anda kepada siapa pun.
home-start = Mulai melapor
home-check = Sudah melapor? Cek status dengan kode tanda terima

submit-title = Buat laporan
submit-intro = Isi sebanyak yang Anda tahu. Semua kolom boleh dikosongkan, tetapi laporan tidak boleh kosong sama sekali.
field-category = Jenis pelanggaran
field-what = Apa yang terjadi?
field-what-hint = Misalnya: petugas meminta uang tambahan untuk mempercepat izin.
field-who = Siapa yang terlibat?
field-who-hint = Nama, jabatan, atau unit kerja, jika Anda tahu.
field-where = Di mana?
field-where-hint = Kantor, kota, atau alamat.
field-when = Kapan?
field-when-hint = Tanggal atau perkiraan waktu; apakah masih berlangsung.
field-how = Bagaimana caranya?
field-how-hint = Bagaimana pelanggaran itu dilakukan, dan bagaimana Anda mengetahuinya.
field-text = Keterangan lain
field-files = Lampiran (boleh lebih dari satu)
field-files-hint = Foto, dokumen, atau rekaman. Data tersembunyi di dalam berkas tidak kami hapus.
identity-summary = Ingin menyebutkan identitas Anda? (tidak wajib)
identity-warning = Laporan anonim tetap kami tindak lanjuti. Identitas hanya perlu jika Anda meminta perlindungan saksi atau ingin mengajukan penghargaan. Identitas dienkripsi seperti isi laporan, tetapi setelah Anda menuliskannya, pemeriksa akan mengetahui siapa Anda.
field-identity = Nama dan cara menghubungi Anda
submit-button = Kirim laporan secara terenkripsi
files-again = Berkas tidak ikut tersimpan: silakan pilih lagi berkas Anda.

receipt-title = Laporan Anda sudah diterima
receipt-code-label = Kode tanda terima Anda
receipt-write-down = Tulis kode ini sekarang dan simpan di tempat yang aman. Tidak ada seorang pun, termasuk kami, yang dapat memulihkannya.
receipt-next = Laporan Anda tercatat dengan status "Diterima". Kembalilah dengan kode ini untuk melihat status, membaca balasan pemeriksa, dan menambah informasi. Tanggapan diharapkan dalam { $days } hari.
receipt-check = Cek status

status-title = Cek status laporan
status-intro = Masukkan kode tanda terima Anda. Huruf besar atau kecil, spasi, dan tanda hubung tidak berpengaruh.
field-receipt = Kode tanda terima
status-button = Lihat status
status-current = Status saat ini
status-submitted = Dikirim pada
status-timeline = Riwayat

status-received = Diterima
status-verifying = Verifikasi
status-reviewing = Telaah
status-investigating = Tindak lanjut
status-needs_info = Butuh informasi tambahan
status-forwarded = Diteruskan ke instansi berwenang
status-closed = Selesai

category-pungli = Pungutan liar
category-suap = Suap
category-gratifikasi = Gratifikasi
category-pemerasan = Pemerasan
category-penggelapan = Penggelapan dalam jabatan
category-pengadaan = Pengadaan barang/jasa
category-wewenang = Penyalahgunaan wewenang
category-benturan = Benturan kepentingan
category-perizinan = Perizinan
category-lainnya = Lainnya

about-title = Privasi
about-stored = Yang kami simpan: isi laporan dan berkas dalam bentuk terenkripsi, tanggal (tanpa jam), ukuran yang dibulatkan, dan status laporan.
about-not-stored = Yang tidak kami simpan: alamat IP, jenis peramban, kode tanda terima Anda, atau isi laporan dalam bentuk yang dapat dibaca.

error-title = Ada masalah
error-typo = Kode itu tampaknya salah ketik. Periksa kembali kode Anda.
error-unknown = Kode tidak dikenal. Periksa kembali kode Anda; laporan yang sudah dihapus juga tidak dapat ditemukan.
error-empty = Laporan masih kosong. Isi setidaknya satu kolom atau lampirkan berkas.
error-category = Pilih jenis pelanggaran dari daftar.
error-field-too-long = Salah satu isian terlalu panjang.
error-too-many-files = Terlalu banyak lampiran dalam satu laporan.
error-too-large = Kiriman terlalu besar.
error-bad-request = Kiriman tidak dapat dibaca. Silakan coba lagi.
error-not-found = Halaman tidak ditemukan.
error-busy = Layanan sedang sibuk atau penyimpanan penuh. Laporan Anda belum tersimpan; silakan coba lagi nanti.
error-timeout = Kiriman terlalu lama. Silakan coba lagi.
error-rate = Terlalu banyak permintaan saat ini. Silakan coba lagi sebentar lagi.
back = Kembali
